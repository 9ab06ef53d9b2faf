// stats.wgsl: every per-configuration statistic of docs/MODEL.md §5, one workgroup per
// configuration, streaming over the draws four times (no configurations × draws buffer).
// Reference: src/backend/cpu/stats.rs (exact, f64); tests/conformance.rs holds this stage to it
// within docs/MODEL.md §6. Rust twin, same shape: `config_stats` in src/backend/gpu/twin.rs.
//
// 1. moments: sums of (L − shift) and its square (shift = the loss of draw 0, against
//    cancellation), min/max of loss and regret, counts (complete, target, regret ≤ ε); tree
//    reductions in workgroup memory.
// 2. a 256-bin histogram over [min, max] of loss and of regret, to find the bin of each rank.
// 3. a 256-bin histogram inside each rank's bin: the rank's value to (max − min)/131072.
// 4. CVaR: sum and count of losses above the threshold rank's value.
// The host merges in f64 and interpolates the type-7 quantiles.

const WG: u32 = 64u;
const BINS: u32 = 256u;
const RANKS: u32 = 9u;
const LOSS_RANKS: u32 = 7u;
const STRIDE: u32 = 24u;

var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> hist1: array<atomic<u32>, 512>;          // loss bins, then regret bins
var<workgroup> hist2: array<atomic<u32>, 2304>;         // RANKS × BINS
var<workgroup> sel: array<u32, RANKS>;                  // level-1 bin of each rank
var<workgroup> below: array<u32, RANKS>;                // values below that bin
var<workgroup> value: array<f32, RANKS>;

fn rank(k: u32) -> u32 {
    return params.ranks[k / 4u][k % 4u];
}

fn reduce_sum(lid: u32, v: vec4<f32>) -> vec4<f32> {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_min(lid: u32, v: vec4<f32>) -> vec4<f32> {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red[lid] = min(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn bin_of(x: f32, lo: f32, width: f32) -> u32 {
    if (width <= 0.0) {
        return 0u;
    }
    return min(u32(max((x - lo) / width, 0.0)), BINS - 1u);
}

@compute @workgroup_size(64)
fn config_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let local = wid.x;
    let config = params.config_offset + local;
    let n = params.n_draws;
    let shift = evaluate(config, 0u).loss;

    // 1. moments.
    var s1 = vec4<f32>(0.0);        // sum(L − shift), sum((L − shift)^2), sum(regret), sum(used)
    var s2 = vec4<f32>(0.0);        // complete, target, near-best (regret ≤ ε), 0
    var mm = vec4<f32>(3.0e38);     // min L, −max L, min regret, −max regret
    for (var i = lid; i < n; i = i + WG) {
        let ev = evaluate(config, i);
        let x = ev.loss - shift;
        let r = ev.loss - draws[i].l_star;
        s1 = s1 + vec4<f32>(x, x * x, r, ev.used);
        s2 = s2 + vec4<f32>(select(0.0, 1.0, ev.complete), select(0.0, 1.0, params.has_target == 1u && ev.loss <= params.target_loss), select(0.0, 1.0, r <= params.near_eps), 0.0);
        mm = min(mm, vec4<f32>(ev.loss, -ev.loss, r, -r));
    }
    s1 = reduce_sum(lid, s1);
    s2 = reduce_sum(lid, s2);
    mm = reduce_min(lid, mm);
    let lo_l = mm.x;
    let w_l = (-mm.y - mm.x) / f32(BINS);
    let lo_r = mm.z;
    let w_r = (-mm.w - mm.z) / f32(BINS);

    // 2. level-1 histograms.
    for (var b = lid; b < 512u; b = b + WG) {
        atomicStore(&hist1[b], 0u);
    }
    for (var b = lid; b < RANKS * BINS; b = b + WG) {
        atomicStore(&hist2[b], 0u);
    }
    workgroupBarrier();
    for (var i = lid; i < n; i = i + WG) {
        let l = evaluate(config, i).loss;
        atomicAdd(&hist1[bin_of(l, lo_l, w_l)], 1u);
        atomicAdd(&hist1[BINS + bin_of(l - draws[i].l_star, lo_r, w_r)], 1u);
    }
    workgroupBarrier();
    if (lid < RANKS) {
        let base = select(BINS, 0u, lid < LOSS_RANKS);
        var cum = 0u;
        var b = 0u;
        loop {
            let h = atomicLoad(&hist1[base + b]);
            if (cum + h > rank(lid) || b == BINS - 1u) {
                break;
            }
            cum = cum + h;
            b = b + 1u;
        }
        sel[lid] = b;
        below[lid] = cum;
    }
    workgroupBarrier();

    // 3. level-2 histograms inside each rank's bin.
    for (var i = lid; i < n; i = i + WG) {
        let l = evaluate(config, i).loss;
        let r = l - draws[i].l_star;
        let bl = bin_of(l, lo_l, w_l);
        let br = bin_of(r, lo_r, w_r);
        for (var k = 0u; k < RANKS; k = k + 1u) {
            if (k < LOSS_RANKS) {
                if (bl == sel[k]) {
                    atomicAdd(&hist2[k * BINS + bin_of(l, lo_l + f32(bl) * w_l, w_l / f32(BINS))], 1u);
                }
            } else if (br == sel[k]) {
                atomicAdd(&hist2[k * BINS + bin_of(r, lo_r + f32(br) * w_r, w_r / f32(BINS))], 1u);
            }
        }
    }
    workgroupBarrier();
    if (lid < RANKS) {
        var lo = lo_l;
        var w = w_l;
        if (lid >= LOSS_RANKS) {
            lo = lo_r;
            w = w_r;
        }
        var cum = below[lid];
        var b = 0u;
        loop {
            let h = atomicLoad(&hist2[lid * BINS + b]);
            if (cum + h > rank(lid) || b == BINS - 1u) {
                break;
            }
            cum = cum + h;
            b = b + 1u;
        }
        value[lid] = lo + f32(sel[lid]) * w + (f32(b) + 0.5) * (w / f32(BINS));
    }
    workgroupBarrier();

    // 4. CVaR: losses above the threshold value.
    let thr = value[6];
    var tail = vec4<f32>(0.0);
    for (var i = lid; i < n; i = i + WG) {
        let l = evaluate(config, i).loss;
        if (l > thr) {
            tail = tail + vec4<f32>(l - thr, 0.0, 0.0, 0.0);
        }
    }
    tail = reduce_sum(lid, tail);

    if (lid == 0u) {
        out[local].shift = shift;
        out[local].sum = s1.x;
        out[local].sum_sq = s1.y;
        out[local].regret_sum = s1.z;
        out[local].used = s1.w;
        out[local].complete = s2.x;
        out[local].hits = s2.y;
        out[local].regret_max = -mm.w;
        out[local].near = s2.z;
        out[local].tail_sum = tail.x;
        for (var k = 0u; k < RANKS; k = k + 1u) {
            out[local].ranks[k] = value[k];
        }
    }
}
