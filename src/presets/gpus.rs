//! GPU presets: dense (no sparsity) tensor peak and memory from public datasheets (docs/MODEL.md §1).

/// One accelerator preset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuPreset {
    pub name: &'static str,
    /// Dense peak in TFLOP/s (BF16 unless `precision` says otherwise).
    pub peak_tflops: f64,
    pub memory_gb: f64,
    /// Memory bandwidth in GB/s (the datasheet's), for the decoding bound of `lifetime_cost`.
    pub memory_bandwidth_gbs: f64,
    pub precision: &'static str,
    pub source: &'static str,
}

/// The table of MODEL.md §1.
pub const GPUS: &[GpuPreset] = &[
    GpuPreset {
        name: "a100-40gb",
        peak_tflops: 312.0,
        memory_gb: 40.0,
        memory_bandwidth_gbs: 1555.0,
        precision: "bf16",
        source: "NVIDIA A100 datasheet",
    },
    GpuPreset {
        name: "a100-80gb",
        peak_tflops: 312.0,
        memory_gb: 80.0,
        memory_bandwidth_gbs: 2039.0,
        precision: "bf16",
        source: "NVIDIA A100 datasheet",
    },
    GpuPreset {
        name: "h100-sxm",
        peak_tflops: 989.0,
        memory_gb: 80.0,
        memory_bandwidth_gbs: 3350.0,
        precision: "bf16",
        source: "NVIDIA H100 datasheet (SXM5)",
    },
    GpuPreset {
        name: "h100-pcie",
        peak_tflops: 756.0,
        memory_gb: 80.0,
        memory_bandwidth_gbs: 2000.0,
        precision: "bf16",
        source: "NVIDIA H100 datasheet (PCIe)",
    },
    GpuPreset {
        name: "h200",
        peak_tflops: 989.0,
        memory_gb: 141.0,
        memory_bandwidth_gbs: 4800.0,
        precision: "bf16",
        source: "NVIDIA H200 datasheet",
    },
    GpuPreset {
        name: "v100",
        peak_tflops: 125.0,
        memory_gb: 32.0,
        memory_bandwidth_gbs: 900.0,
        precision: "fp16",
        source: "NVIDIA V100 datasheet",
    },
    GpuPreset {
        name: "l4",
        peak_tflops: 121.0,
        memory_gb: 24.0,
        memory_bandwidth_gbs: 300.0,
        precision: "bf16",
        source: "NVIDIA L4 datasheet",
    },
    GpuPreset {
        name: "a10",
        peak_tflops: 125.0,
        memory_gb: 24.0,
        memory_bandwidth_gbs: 600.0,
        precision: "bf16",
        source: "NVIDIA A10 datasheet",
    },
    GpuPreset {
        name: "rtx4090",
        peak_tflops: 165.0,
        memory_gb: 24.0,
        memory_bandwidth_gbs: 1008.0,
        precision: "fp16, fp32 accumulate",
        source: "NVIDIA Ada (AD102) whitepaper",
    },
    GpuPreset {
        name: "mi300x",
        peak_tflops: 1307.0,
        memory_gb: 192.0,
        memory_bandwidth_gbs: 5300.0,
        precision: "bf16",
        source: "AMD Instinct MI300X datasheet",
    },
];

/// Look a preset up by name.
pub fn find(name: &str) -> Option<&'static GpuPreset> {
    GPUS.iter().find(|g| g.name == name)
}

/// The preset names, for error messages.
pub fn names() -> String {
    GPUS.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")
}
