//! `Wgpu`: the GPU backend. Every op is a WGSL compute kernel (`shaders/`); this file owns the device,
//! the compiled pipelines and `launch`, which uploads slices, dispatches and reads results back.
//!
//! The backend works on host slices like the others, so it copies in and out on every op: it is the
//! correctness-checked GPU path, not yet a fast one (buffers resident on the device come with the
//! neural backend).

mod ops;

use std::fmt;

use wgpu::util::DeviceExt;

/// The kernels, one compute pipeline each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Gemm,
    AttentionForward,
    AttentionBackward,
    LayerNormForward,
    LayerNormBackward,
    Elementwise,
    Gather,
}

const KERNELS: [(Kernel, &str); 7] = [
    (Kernel::Gemm, include_str!("shaders/gemm.wgsl")),
    (
        Kernel::AttentionForward,
        include_str!("shaders/attention_forward.wgsl"),
    ),
    (
        Kernel::AttentionBackward,
        include_str!("shaders/attention_backward.wgsl"),
    ),
    (
        Kernel::LayerNormForward,
        include_str!("shaders/layernorm_forward.wgsl"),
    ),
    (
        Kernel::LayerNormBackward,
        include_str!("shaders/layernorm_backward.wgsl"),
    ),
    (
        Kernel::Elementwise,
        include_str!("shaders/elementwise.wgsl"),
    ),
    (Kernel::Gather, include_str!("shaders/gather.wgsl")),
];

const COMMON: &str = include_str!("shaders/common.wgsl");

/// Threads per workgroup in every shader.
const WORKGROUP: usize = 64;
/// The most workgroups one dispatch dimension may have (WebGPU's default limit).
const MAX_GROUPS: usize = 65_535;

/// One buffer bound to a kernel, in binding order after the parameters.
enum Arg<'a> {
    /// Read-only floats.
    F32(&'a [f32]),
    /// Read-only u32s (ids, masks).
    U32(&'a [u32]),
    /// Floats the kernel reads and writes; copied back after the dispatch.
    Rw(&'a mut [f32]),
}

/// A GPU device with every kernel compiled.
pub struct Wgpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipelines: Vec<(Kernel, wgpu::ComputePipeline)>,
    adapter: String,
}

impl fmt::Debug for Wgpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wgpu")
            .field("adapter", &self.adapter)
            .finish()
    }
}

impl Wgpu {
    /// Opens the first adapter wgpu finds and compiles every kernel; `None` when there is no adapter.
    pub fn new() -> Option<Self> {
        // Compute needs no window system: only the native compute backends (Vulkan, Metal, DX12)
        // are built and asked for, so no GL/EGL probe of a display server runs.
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(descriptor);
        let adapter =
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
                .ok()?;
        let info = adapter.get_info();
        // The attention backward kernel binds eleven buffers; ask for what the adapter offers.
        let desc = wgpu::DeviceDescriptor {
            label: Some("apmdm kernels"),
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).ok()?;
        let pipelines = KERNELS
            .iter()
            .map(|&(kernel, source)| {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: None,
                    source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{source}").into()),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: None,
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (kernel, pipeline)
            })
            .collect();
        Some(Self {
            device,
            queue,
            pipelines,
            adapter: format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type),
        })
    }

    /// The adapter's name, backend and type, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)".
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Runs `kernel` with `threads` invocations, binding `params` at 0 and `args` at 1, 2, ...
    /// and copying every read-write argument back into its slice.
    fn launch(&self, kernel: Kernel, params: &[u32], threads: usize, args: &mut [Arg<'_>]) {
        if threads == 0 {
            return;
        }
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        // Bindings may not be empty: an empty slice becomes one ignored zero.
        let make = |bytes: &[u8]| {
            let zero = [0u8; 4];
            let contents = if bytes.is_empty() { &zero[..] } else { bytes };
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: None,
                    contents,
                    usage: storage,
                })
        };
        let mut buffers = vec![make(bytemuck::cast_slice(params))];
        for arg in args.iter() {
            buffers.push(match arg {
                Arg::F32(s) => make(bytemuck::cast_slice(s)),
                Arg::U32(s) => make(bytemuck::cast_slice(s)),
                Arg::Rw(s) => make(bytemuck::cast_slice(s)),
            });
        }
        let pipeline = &self
            .pipelines
            .iter()
            .find(|(k, _)| *k == kernel)
            .expect("every kernel is compiled in new()")
            .1;
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let groups = threads.div_ceil(WORKGROUP);
        let (gx, gy) = (groups.min(MAX_GROUPS), groups.div_ceil(MAX_GROUPS));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx as u32, gy as u32, 1);
        }
        let mut staging = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if let Arg::Rw(s) = arg {
                if s.is_empty() {
                    continue;
                }
                let size = std::mem::size_of_val(*s) as u64;
                let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(&buffers[i + 1], 0, &buf, 0, size);
                staging.push((i, buf));
            }
        }
        self.queue.submit([encoder.finish()]);
        for (_, buf) in &staging {
            buf.map_async(wgpu::MapMode::Read, .., |r| {
                r.expect("mapping a staging buffer for reading cannot fail on a live device")
            });
        }
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("the GPU device was lost while running a kernel");
        for (i, buf) in staging {
            if let Arg::Rw(s) = &mut args[i] {
                let view = buf
                    .get_mapped_range(..)
                    .expect("the staging buffer was mapped for reading above");
                // Byte-wise decoding: a mapped range promises no f32 alignment.
                for (x, bytes) in s.iter_mut().zip(view.chunks_exact(4)) {
                    *x = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                }
            }
        }
    }
}
