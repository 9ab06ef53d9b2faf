//! Every shader parses and validates with naga in a plain `cargo test` (no GPU needed), and the
//! host's view of workgroup size, bindings and struct layouts matches naga's reflection.

use scalerisk::backend::gpu::{layout, STATS_WGSL};

fn module() -> (naga::Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(STATS_WGSL)
        .unwrap_or_else(|e| panic!("stats.wgsl: {}", e.emit_to_string(STATS_WGSL)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("stats.wgsl does not validate: {e:?}"));
    (module, info)
}

#[test]
fn stats_shader_validates() {
    module();
}

#[test]
fn workgroup_size_and_bindings_match_the_host() {
    let (module, _) = module();
    let ep = module
        .entry_points
        .iter()
        .find(|e| e.name == "config_stats")
        .expect("entry point config_stats");
    assert_eq!(ep.workgroup_size, [layout::WORKGROUP, 1, 1]);
    let mut bindings: Vec<u32> = module
        .global_variables
        .iter()
        .filter_map(|(_, g)| g.binding.as_ref())
        .inspect(|b| assert_eq!(b.group, 0))
        .map(|b| b.binding)
        .collect();
    bindings.sort();
    assert_eq!(
        bindings,
        [0, 1, 2, 3],
        "the host binds params, draws, axes, out"
    );
}

#[test]
fn struct_layouts_match_the_host() {
    let (module, _) = module();
    let size = |name: &str| {
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name}"));
        ty.inner.size(module.to_ctx()) as usize
    };
    assert_eq!(size("Params"), std::mem::size_of::<layout::Params>());
    assert_eq!(size("Draw"), std::mem::size_of::<layout::DrawGpu>());
    // Field offsets of Params, as naga lays them out.
    let (_, params) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("Params"))
        .unwrap();
    if let naga::TypeInner::Struct { members, .. } = &params.inner {
        let ranks = members
            .iter()
            .find(|m| m.name.as_deref() == Some("ranks"))
            .unwrap();
        assert_eq!(
            ranks.offset as usize,
            std::mem::offset_of!(layout::Params, ranks)
        );
        let target = members
            .iter()
            .find(|m| m.name.as_deref() == Some("target_loss"))
            .unwrap();
        assert_eq!(
            target.offset as usize,
            std::mem::offset_of!(layout::Params, target_loss)
        );
    } else {
        panic!("Params is not a struct");
    }
    // The cut-run penalty's scale sits where the host writes it.
    let (_, draw) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("Draw"))
        .unwrap();
    let naga::TypeInner::Struct { members, .. } = &draw.inner else {
        panic!("Draw is not a struct");
    };
    let anneal = members
        .iter()
        .find(|m| m.name.as_deref() == Some("anneal"))
        .unwrap();
    assert_eq!(
        anneal.offset as usize,
        std::mem::offset_of!(layout::DrawGpu, anneal)
    );
    // Every member of the three shared structs, by name, at the host's offset: moving one field on
    // either side fails here (checked once by hand: swapping `ln_x` and `ln_u` in evaluate.wgsl
    // fails this test).
    let offsets = |name: &str| -> Vec<(String, usize)> {
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap();
        let naga::TypeInner::Struct { members, .. } = &ty.inner else {
            panic!("{name} is not a struct");
        };
        members
            .iter()
            .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
            .collect()
    };
    macro_rules! host {
        ($t:ty: $($f:ident),*) => {
            vec![$((stringify!($f).to_string(), std::mem::offset_of!($t, $f))),*]
        };
    }
    assert_eq!(
        offsets("Params"),
        host!(layout::Params: n_draws, n_params, n_tokens, n_hours, config_offset, n_configs,
            form, time_term, effective_params, has_target, target_loss, near_eps, ranks)
    );
    assert_eq!(
        offsets("StatsRow"),
        host!(layout::StatsRow: shift, sum, sum_sq, regret_sum, used, complete, hits,
            regret_max, near, tail_sum, ranks, _pad1, _pad2, _pad3, _pad4, _pad5)
    );
    assert_eq!(size("StatsRow"), std::mem::size_of::<layout::StatsRow>());
    assert_eq!(
        offsets("Draw"),
        host!(layout::DrawGpu: e, ln_a, ln_b, alpha, beta, c, gamma, ln_x, ln_u, rd_star,
            rn_star, ln_nopt, l_star, alpha_d, anneal, _pad1)
    );
    // The output stride the host reads: 10 scalars + 9 rank values must fit.
    const { assert!(10 + 9 <= layout::STRIDE) };
    assert!(STATS_WGSL.contains(&format!("const STRIDE: u32 = {}u;", layout::STRIDE)));
    // The twin's shape constants are the shader's.
    use scalerisk::backend::gpu::twin;
    for (name, value) in [
        ("WG", twin::WG),
        ("BINS", twin::BINS as usize),
        ("RANKS", twin::RANKS),
        ("LOSS_RANKS", twin::LOSS_RANKS),
    ] {
        assert!(
            STATS_WGSL.contains(&format!("const {name}: u32 = {value}u;")),
            "the twin's {name} = {value} is not the shader's"
        );
    }
    assert_eq!(twin::WG as u32, layout::WORKGROUP);
    // The curve model's constants in the cut-run penalty are the host's (to f32).
    for (name, value) in [
        ("GAP_SIZE_EXPONENT", scalerisk::curve::GAP_SIZE_EXPONENT),
        (
            "LN_GAP_REFERENCE_PARAMS",
            scalerisk::curve::GAP_REFERENCE_PARAMS.ln(),
        ),
        ("LN_NEVER_ANNEALED_TOKENS", twin::ln_never_annealed_tokens()),
    ] {
        let head = format!("const {name}: f32 = ");
        let at = STATS_WGSL
            .find(&head)
            .unwrap_or_else(|| panic!("no {name} in the shader"));
        let text = &STATS_WGSL[at + head.len()..];
        let shader: f64 = text[..text.find(';').unwrap()].parse().unwrap();
        assert!(
            ((shader as f32) - (value as f32)).abs() <= f32::EPSILON * value.abs() as f32,
            "the shader's {name} = {shader} is not the host's {value}"
        );
    }
}
