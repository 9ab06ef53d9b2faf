//! The GPU backend: WGSL compute shaders through wgpu (f32), agreeing with the f64 CPU reference
//! within docs/MODEL.md §6.
//!
//! The per-draw oracle is pass 1's [`Oracle`], computed once on the host in f64 by the caller
//! (`cpu::oracle`, O(P × T × draws) thanks to its closed-form profile); the GPU runs `shaders/stats.wgsl`, one workgroup per configuration,
//! split into dispatches that respect the device's limits. Getting a device (`Gpu::new`, with its
//! [`Options`]: injected faults, a smaller dispatch) is separate from running with one (the
//! [`Backend`] impl: buffer set-up, chunk encoding, read-back and merge), so tests can inject
//! theirs.

pub mod layout;
pub mod twin;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::{Backend, ConfigStats, DrawOptimum, OnProgress, Oracle, Settings};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::progress::human_seconds;
use crate::sampling::Draw;
use crate::stats;
use layout::{DrawGpu, Params, STRIDE};

/// The WGSL source of the statistics stage: the shared evaluate function, then the kernel.
pub const STATS_WGSL: &str = concat!(
    include_str!("../../../shaders/evaluate.wgsl"),
    "\n",
    include_str!("../../../shaders/stats.wgsl")
);

/// How to get an adapter when none is found, for error messages.
pub const NO_ADAPTER_FIX: &str = "no GPU adapter found; install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers libvulkan1 for the lavapipe software adapter) or use --backend cpu";

/// A wgpu error (several lines, with source snippets) as one line for the user.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:" && !l.contains('│') && !l.starts_with('┌'))
        .collect::<Vec<_>>()
        .join(": ")
}

/// One adapter as `scalerisk devices` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

impl AdapterSummary {
    pub fn of(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }

    /// A software rasteriser (lavapipe, llvmpipe, WARP): correct but slower than the CPU backend.
    pub fn is_software(&self) -> bool {
        self.device_type == "Cpu"
    }

    /// What a run of `evaluations` (configurations × draws) on this adapter will be like, said
    /// before it starts when the adapter is a software one and the run will take at least
    /// [`SOFTWARE_NOTE_FROM_S`]: `None` on hardware and for short runs.
    pub fn software_warning(&self, evaluations: f64, cores: usize) -> Option<String> {
        if !self.is_software() {
            return None;
        }
        let gpu = evaluations / (SOFTWARE_EVALS_PER_CORE_S * cores.max(1) as f64);
        if gpu < SOFTWARE_NOTE_FROM_S {
            return None;
        }
        let cpu = evaluations / (CPU_EVALS_PER_CORE_S * cores.max(1) as f64);
        Some(format!(
            "note: --backend gpu: {} is a software adapter (it runs on the CPU); {:.2e} evaluations will take about {} here (--backend cpu: about {})",
            self.name,
            evaluations,
            human_seconds(gpu),
            human_seconds(cpu)
        ))
    }

    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}, {})",
            self.name, self.backend, self.device_type, self.driver
        )
    }
}

/// Evaluations (configurations × draws, full statistics) per second per CPU core on a software
/// adapter: lavapipe measured 6.8e6/s on 1.1 cores (BENCHMARKS.md, 1,000,000 × 8,192) and 9.3e6/s
/// on 2 cores (a100-3days); the estimate is good to about 2×.
pub const SOFTWARE_EVALS_PER_CORE_S: f64 = 4.5e6;

/// The CPU backend's rate per core on the same workloads (a100-3days: 1.26e9 evaluations in an
/// evaluate stage of 0.8–1.1 s on 2 cores, BENCHMARKS.md session 12).
pub const CPU_EVALS_PER_CORE_S: f64 = 6e8;

/// Software-adapter runs estimated shorter than this go without the note.
pub const SOFTWARE_NOTE_FROM_S: f64 = 2.0;

/// Mesa's window-system code prints `error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment.` on stderr whenever an instance is created where that variable is unset or not a
/// private folder (servers, containers, CI), which would break the one-line error contract of a
/// run that then succeeds. When it is unset or invalid, point it at a private folder
/// (`$TMPDIR/scalerisk-runtime-<uid>`, mode 0700) for this process only. `main` calls this
/// first, while the process has one thread, as setting the environment requires.
pub fn quiet_runtime_dir() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        let private = |p: &std::path::Path| {
            p.is_absolute()
                && std::fs::symlink_metadata(p).is_ok_and(|m| {
                    m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0
                })
        };
        if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| private(std::path::Path::new(&v))) {
            return;
        }
        let dir = std::env::temp_dir().join(format!("scalerisk-runtime-{uid}"));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        if private(&dir) {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu can see.
pub fn adapters() -> Vec<AdapterSummary> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| AdapterSummary::of(&a.get_info()))
        .collect()
}

/// Faults a test or a drill can inject (docs/RELIABILITY.md), through [`Options`] or
/// `SCALERISK_GPU_FAULT`; each goes through the real wgpu failure path, not a stand-in error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `device_lost`: the device is destroyed just before the first dispatch.
    DeviceLost,
    /// `shader`: a statistics shader that does not compile.
    Shader,
    /// `alloc`: the output buffer is requested beyond the device's buffer size limit.
    Alloc,
}

/// The environment variable that injects a [`Fault`] (read by [`Options::from_env`]).
pub const FAULT_ENV: &str = "SCALERISK_GPU_FAULT";

impl Fault {
    /// `device_lost | shader | alloc`, or None when unset or empty.
    pub fn parse(value: Option<&str>) -> Result<Option<Fault>> {
        match value {
            None | Some("") => Ok(None),
            Some("device_lost") => Ok(Some(Fault::DeviceLost)),
            Some("shader") => Ok(Some(Fault::Shader)),
            Some("alloc") => Ok(Some(Fault::Alloc)),
            Some(other) => Err(Error::input(
                FAULT_ENV,
                format!("{other:?} is not allowed; device_lost | shader | alloc (or unset)"),
            )),
        }
    }
}

/// How a [`Gpu`] runs besides its device: what tests and drills change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The fault to inject, None in ordinary runs.
    pub fault: Option<Fault>,
    /// Caps configurations per dispatch below the device's limits (tests: results must not
    /// depend on how the work is split).
    pub max_chunk: Option<usize>,
}

impl Options {
    /// The options of a run of the binary: the fault of `SCALERISK_GPU_FAULT` when set. Read
    /// once, where the `Gpu` is created (`pipeline`, `cli`), never during a run.
    pub fn from_env() -> Result<Options> {
        Ok(Options {
            fault: Fault::parse(std::env::var(FAULT_ENV).ok().as_deref())?,
            max_chunk: None,
        })
    }
}

/// A device with the statistics pipeline built once.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    pub adapter: AdapterSummary,
    lost: Arc<AtomicBool>,
    /// The first error wgpu raised outside an error scope (it would panic by default).
    uncaptured: Arc<Mutex<Option<String>>>,
    options: Options,
    /// Whether the device writes GPU timestamps (then `kernel_seconds` is measured).
    timestamps: bool,
    /// GPU time of the statistics kernels of the last `statistics`, from timestamp queries.
    kernel_ns: Mutex<Option<f64>>,
}

/// The timestamp queries around each dispatch: a query set of 2, resolved and read back per
/// chunk.
struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
}

/// Everything one statistics pass binds, set up once per pass and reused by every chunk.
struct Buffers {
    params: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    stamps: Option<Timestamps>,
}

/// One chunk's output read back to the host.
struct ChunkOutput {
    rows: Vec<layout::StatsRow>,
    /// GPU nanoseconds of the chunk's kernel, where the timestamps could be read.
    kernel_ns: Option<f64>,
}

/// The uniform of the chunk of `count` configurations from `offset`.
fn chunk_params(
    settings: &Settings,
    grid: &Grid,
    n_draws: usize,
    offset: usize,
    count: usize,
) -> Params {
    Params {
        n_draws: n_draws as u32,
        n_params: grid.params.len() as u32,
        n_tokens: grid.tokens.len() as u32,
        n_hours: grid.hours.len() as u32,
        config_offset: offset as u32,
        n_configs: count as u32,
        form: u32::from(settings.shape.form == crate::law::Form::Kaplan),
        time_term: u32::from(settings.shape.time_term),
        effective_params: u32::from(settings.shape.effective_params),
        has_target: u32::from(settings.target_loss.is_some()),
        target_loss: settings.target_loss.unwrap_or(0.0) as f32,
        near_eps: settings.near_best_within as f32,
        ranks: ranks(n_draws),
    }
}

impl Gpu {
    /// The high-performance adapter with `options`, or `Ok(None)` when there is none.
    pub fn new(options: Options) -> Result<Option<Gpu>> {
        match Gpu::adapter() {
            Some(adapter) => Gpu::open(adapter, options).map(Some),
            None => Ok(None),
        }
    }

    /// The high-performance adapter, if any: what `auto` looks at before it opens a device (a
    /// software adapter it will not use costs no device and no shader compilation).
    pub fn adapter() -> Option<wgpu::Adapter> {
        pollster::block_on(instance().request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .ok()
    }

    /// A device on `adapter` with the statistics pipeline built.
    pub fn open(adapter: wgpu::Adapter, options: Options) -> Result<Gpu> {
        let summary = AdapterSummary::of(&adapter.get_info());
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("scalerisk"),
            required_limits: adapter.limits(),
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
            ..Default::default()
        }))
        .map_err(|e| Error::Runtime(format!("GPU {}: cannot open a device: {e}", summary.name)))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        let uncaptured = Arc::new(Mutex::new(None));
        let first = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = first.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let source = if options.fault == Some(Fault::Shader) {
            "@compute @workgroup_size(64) fn config_stats() { let x: f32 = undefined_name; }"
        } else {
            STATS_WGSL
        };
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("stats.wgsl"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("config_stats"),
            layout: None,
            module: &module,
            entry_point: Some("config_stats"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Runtime(format!(
                "GPU {}: the statistics shader failed to compile: {}",
                summary.name,
                one_line(&e)
            )));
        }
        Ok(Gpu {
            device,
            queue,
            pipeline,
            adapter: summary,
            lost,
            uncaptured,
            options,
            timestamps,
            kernel_ns: Mutex::new(None),
        })
    }

    /// [`Gpu::new`] with the options of the environment ([`Options::from_env`]): how the binary
    /// gets its GPU.
    pub fn from_env() -> Result<Option<Gpu>> {
        Gpu::new(Options::from_env()?)
    }

    /// Configurations per dispatch: at most 65,535 workgroups (and the device's limit), and an
    /// output buffer within the storage binding and buffer size limits.
    pub fn chunk_configs(&self) -> usize {
        let l = self.device.limits();
        let by_groups = l.max_compute_workgroups_per_dimension as usize;
        let bytes = l.max_storage_buffer_binding_size.min(l.max_buffer_size) as usize;
        by_groups
            .min(bytes / (STRIDE * 4))
            .min(self.options.max_chunk.unwrap_or(usize::MAX))
            .max(1)
    }

    fn check(&self, what: &str) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Runtime(format!(
                "GPU {}: device lost during {what}; rerun with --backend cpu",
                self.adapter.name
            )));
        }
        let uncaptured = self
            .uncaptured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(e) = uncaptured {
            return Err(Error::Runtime(format!(
                "GPU {}: {what} failed: {}; rerun with --backend cpu",
                self.adapter.name,
                one_line(&e)
            )));
        }
        Ok(())
    }

    /// Buffer set-up: the prepared draws (with each draw's L* from `optima`) and the grid's
    /// axes uploaded, the uniform, an output and a staging buffer of one chunk, the bind group
    /// and the timestamp queries. Draws over the binding limit are an input error; a failed
    /// allocation (out of memory, over a limit, or [`Fault::Alloc`]) a runtime one.
    fn set_up(
        &self,
        settings: &Settings,
        grid: &Grid,
        draws: &[Draw],
        optima: &[DrawOptimum],
    ) -> Result<Buffers> {
        let s = draws.len();
        let gpu_draws: Vec<DrawGpu> = draws
            .iter()
            .zip(optima)
            .map(|(d, o)| {
                twin::prepare(settings.shape, d, settings.flops_per_param_token).to_gpu(o.loss_grid)
            })
            .collect();
        let axes: Vec<f32> = grid
            .ln_params
            .iter()
            .chain(&grid.ln_tokens)
            .chain(grid.hours.iter().map(|t| t.ln()).collect::<Vec<_>>().iter())
            .chain(twin::ln_k_ratios(settings, grid).iter())
            .chain(twin::ln_law_ratios(settings, grid).iter())
            .map(|v| *v as f32)
            .collect();

        let limits = self.device.limits();
        let draw_bytes = std::mem::size_of_val(gpu_draws.as_slice()) as u64;
        if draw_bytes
            > limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size)
        {
            return Err(Error::input("sampling.draws", format!("{s} draws need {draw_bytes} bytes on the GPU, over this adapter's storage binding limit of {} bytes; use fewer draws or --backend cpu", limits.max_storage_buffer_binding_size)));
        }
        let chunk = self.chunk_configs();
        let oom_scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let draws_buf = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("draws"),
                contents: bytemuck::cast_slice(&gpu_draws),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let axes_buf = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("axes"),
                contents: bytemuck::cast_slice(&axes),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let params = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let out_bytes = if self.options.fault == Some(Fault::Alloc) {
            limits.max_buffer_size.saturating_add(4)
        } else {
            (chunk * STRIDE * 4) as u64
        };
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: out_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let invalid = pollster::block_on(scope.pop());
        if let Some(e) = pollster::block_on(oom_scope.pop()).or(invalid) {
            return Err(Error::Runtime(format!(
                "GPU {}: allocating buffers failed ({}); use fewer draws or --backend cpu",
                self.adapter.name,
                one_line(&e)
            )));
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("stats"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: draws_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: axes_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        let stamps = self.timestamps.then(|| Timestamps {
            set: self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("stats timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            read: self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps read"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        });
        Ok(Buffers {
            params,
            out,
            staging,
            bind_group,
            stamps,
        })
    }

    /// Chunk encoding: `params` written to the uniform, one dispatch of `params.n_configs`
    /// workgroups between the timestamps, and the copy of its rows to the staging buffer.
    fn encode_chunk(&self, b: &Buffers, params: &Params) -> wgpu::CommandBuffer {
        self.queue
            .write_buffer(&b.params, 0, bytemuck::bytes_of(params));
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("stats"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("config_stats"),
                timestamp_writes: b.stamps.as_ref().map(|t| wgpu::ComputePassTimestampWrites {
                    query_set: &t.set,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                }),
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &b.bind_group, &[]);
            pass.dispatch_workgroups(params.n_configs, 1, 1);
        }
        if let Some(t) = &b.stamps {
            encoder.resolve_query_set(&t.set, 0..2, &t.resolve, 0);
            encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.read, 0, 16);
        }
        let bytes = (params.n_configs as usize * STRIDE * 4) as u64;
        encoder.copy_buffer_to_buffer(&b.out, 0, &b.staging, 0, bytes);
        encoder.finish()
    }

    /// Read-back of a submitted chunk of `count` configurations: wait for the device, surface a
    /// lost device or an uncaptured error, copy the rows out of the staging buffer and read the
    /// timestamps.
    fn read_back(&self, b: &Buffers, count: usize) -> Result<ChunkOutput> {
        let bytes = (count * STRIDE * 4) as u64;
        let slice = b.staging.slice(..bytes);
        let mapped = Arc::new(AtomicBool::new(false));
        let done = mapped.clone();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            done.store(r.is_ok(), Ordering::SeqCst)
        });
        let stamped = Arc::new(AtomicBool::new(false));
        if let Some(t) = &b.stamps {
            let done = stamped.clone();
            t.read.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                done.store(r.is_ok(), Ordering::SeqCst)
            });
        }
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| {
                Error::Runtime(format!(
                    "GPU {}: {e}; rerun with --backend cpu",
                    self.adapter.name
                ))
            })?;
        self.check("the statistics pass")?;
        if !mapped.load(Ordering::SeqCst) {
            return Err(Error::Runtime(format!(
                "GPU {}: the results could not be read back; rerun with --backend cpu",
                self.adapter.name
            )));
        }
        let rows = {
            let view = slice.get_mapped_range().map_err(|e| {
                Error::Runtime(format!("GPU {}: reading results: {e}", self.adapter.name))
            })?;
            bytemuck::cast_slice::<u8, layout::StatsRow>(&view).to_vec()
        };
        b.staging.unmap();
        let mut kernel_ns = None;
        if let Some(t) = &b.stamps {
            if stamped.load(Ordering::SeqCst) {
                if let Ok(view) = t.read.slice(..).get_mapped_range() {
                    let ts: &[u64] = bytemuck::cast_slice(&view);
                    let period_ns = f64::from(self.queue.get_timestamp_period());
                    kernel_ns = Some(ts[1].saturating_sub(ts[0]) as f64 * period_ns);
                }
                t.read.unmap();
            }
        }
        Ok(ChunkOutput { rows, kernel_ns })
    }
}

impl Backend for Gpu {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn describe(&self) -> String {
        self.adapter.describe()
    }

    /// Every statistic of every configuration: buffers set up once, then per chunk (within the
    /// device's limits) an encoded dispatch, its read-back and the f64 merge on the host. The
    /// oracle is pass 1's, on the host (see module docs).
    fn statistics(
        &self,
        settings: &Settings,
        grid: &Grid,
        draws: &[Draw],
        oracle: &Oracle,
        progress: OnProgress,
    ) -> Result<Vec<ConfigStats>> {
        let s = draws.len();
        let buffers = self.set_up(settings, grid, draws, &oracle.optima)?;
        let chunk = self.chunk_configs();
        if self.options.fault == Some(Fault::DeviceLost) {
            self.device.destroy();
        }
        let mut out = Vec::with_capacity(grid.len());
        let mut kernel_ns = 0.0;
        let mut offset = 0;
        while offset < grid.len() {
            let count = chunk.min(grid.len() - offset);
            let commands =
                self.encode_chunk(&buffers, &chunk_params(settings, grid, s, offset, count));
            self.queue.submit(Some(commands));
            let chunk_out = self.read_back(&buffers, count)?;
            kernel_ns += chunk_out.kernel_ns.unwrap_or(0.0);
            for (j, row) in chunk_out.rows.iter().enumerate() {
                let index = offset + j;
                let (_, _, t) = grid.coords(index);
                out.push(merge(row, s, grid.hours[t], settings.target_loss.is_some()));
            }
            offset += count;
            progress(count);
        }
        *self.kernel_ns.lock().unwrap_or_else(|p| p.into_inner()) =
            buffers.stamps.is_some().then_some(kernel_ns);
        Ok(out)
    }

    /// Seconds the statistics kernels ran on the GPU in the last `statistics`, measured with
    /// timestamp queries; None where the adapter does not support them.
    fn kernel_seconds(&self) -> Option<f64> {
        self.kernel_ns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|ns| ns * 1e-9)
    }
}

/// The order statistics `config_stats` resolves for `s` draws, as `Params.ranks` holds them:
/// the p05, p50, p95 pairs of the loss, the CVaR threshold, then the regret's p95 pair.
pub fn ranks(s: usize) -> [[u32; 4]; 3] {
    let pair = |q: f64| {
        let (lo, _) = stats::type7_position(s, q);
        [lo as u32, (lo + 1).min(s - 1) as u32]
    };
    let [a, b] = pair(stats::Q05);
    let [c, d] = pair(stats::Q50);
    let [e, f] = pair(stats::Q95);
    let thr = (s - stats::cvar_tail(s, stats::CVAR_LEVEL)) as u32;
    [[a, b, c, d], [e, f, thr, e], [f, 0, 0, 0]]
}

/// The host's f64 merge of one configuration's output row of `config_stats` (layout in
/// stats.wgsl): moments about the shift, type-7 interpolation between the resolved ranks, CVaR as
/// threshold + Σ(L − threshold)/m.
pub fn merge(row: &layout::StatsRow, s: usize, hours: f64, has_target: bool) -> ConfigStats {
    let n = s as f64;
    let m = stats::cvar_tail(s, stats::CVAR_LEVEL) as f64;
    let fracs = [stats::Q05, stats::Q50, stats::Q95].map(|q| stats::type7_position(s, q).1);
    let f = f64::from;
    let q = row.ranks.map(f64::from);
    let (s1, s2) = (f(row.sum), f(row.sum_sq));
    let var = if s > 1 {
        ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0)
    } else {
        f64::NAN
    };
    let sd = var.sqrt();
    // ranks: loss p05 lo/hi, p50 lo/hi, p95 lo/hi, the CVaR threshold, regret p95 lo/hi.
    ConfigStats {
        loss_mean: f(row.shift) + s1 / n,
        loss_sd: sd,
        loss_se: sd / n.sqrt(),
        loss_p05: stats::lerp(q[0], q[1], fracs[0]),
        loss_p50: stats::lerp(q[2], q[3], fracs[1]),
        loss_p95: stats::lerp(q[4], q[5], fracs[2]),
        loss_cvar95: q[6] + f(row.tail_sum) / m,
        p_complete: f(row.complete) / n,
        p_target: if has_target {
            f(row.hits) / n
        } else {
            f64::NAN
        },
        regret_mean: f(row.regret_sum) / n,
        regret_p95: stats::lerp(q[7], q[8], fracs[2]),
        regret_max: f(row.regret_max),
        p_near_best: f(row.near) / n,
        hours_mean: hours * f(row.used) / n,
    }
}

#[cfg(test)]
mod software_tests {
    use super::*;

    /// The values `SCALERISK_GPU_FAULT` takes (docs/RELIABILITY.md); anything else is refused
    /// as bad input naming the variable.
    #[test]
    fn faults_parse_from_their_documented_names() {
        assert_eq!(Fault::parse(None).unwrap(), None);
        assert_eq!(Fault::parse(Some("")).unwrap(), None);
        assert_eq!(
            Fault::parse(Some("device_lost")).unwrap(),
            Some(Fault::DeviceLost)
        );
        assert_eq!(Fault::parse(Some("shader")).unwrap(), Some(Fault::Shader));
        assert_eq!(Fault::parse(Some("alloc")).unwrap(), Some(Fault::Alloc));
        let e = Fault::parse(Some("oom")).unwrap_err();
        assert!(e.is_input() && e.to_string().contains(FAULT_ENV), "{e}");
        assert_eq!(Options::default().fault, None);
    }

    /// Lavapipe took 2 min 16 s for a100-3days (1.26e9 evaluations, 2 cores)
    /// with no word; the warning names it and estimates that time within 2×.
    #[test]
    fn a_software_adapter_is_named_with_an_estimate() {
        let mut a = AdapterSummary {
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            backend: "vulkan".into(),
            device_type: "Cpu".into(),
            driver: "llvmpipe".into(),
        };
        let w = a.software_warning(153_600.0 * 8192.0, 2).unwrap();
        assert!(
            w.contains("llvmpipe") && w.contains("software adapter"),
            "{w}"
        );
        let est = 153_600.0 * 8192.0 / (SOFTWARE_EVALS_PER_CORE_S * 2.0);
        assert!(
            (68.0..=272.0).contains(&est),
            "{est} s against the measured 136 s"
        );
        assert!(w.contains(&human_seconds(est)), "{w}");
        a.device_type = "DiscreteGpu".into();
        assert!(a.software_warning(1e9, 2).is_none());
        a.device_type = "Cpu".into();
        // A run of a second or so goes without a word.
        assert!(a.software_warning(4.5e6, 1).is_none());
        assert_eq!(human_seconds(136.0), "2 min 16 s");
        assert_eq!(human_seconds(3.25), "3.2 s");
        assert_eq!(human_seconds(3900.0), "1 h 05 min");
        assert_eq!(human_seconds(0.02), "under a second");
    }
}
