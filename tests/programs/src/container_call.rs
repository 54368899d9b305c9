//! `mode = "container-call"`: one call of the container-engine interfaces
//! (`containers`, `volumes`, `images`, `network-faults`, `stacks`), chosen by
//! `call`, printing a stable one-line (or few-line) summary of the result, so
//! the host's capabilities can be tested through a real plugin. A container
//! `name` is opened first (the checked lookup), except by `list` and the
//! calls that create one.

use run_plugin_sdk::containers::{self, Compression, ExecRequest, Filter, Mount, Signal};
use run_plugin_sdk::stacks::{
    self, BindMount, ContainerSpec, Device, MountSpec, NamespaceMode, NetworkAttachment,
    NetworkMode, PortBinding, Protocol, TmpfsMount, VolumeMount,
};
use run_plugin_sdk::{Error, images, network_faults, volumes};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Call {
    call: String,
    name: String,
    command: Vec<String>,
    stdin_file: Option<String>,
    stdout_file: Option<String>,
    zstd: bool,
    path: String,
    file: String,
    volume: String,
    image: String,
    filter: String,
    signal: Option<String>,
    timeout: Option<u32>,
    tail: u32,
    detach: bool,
    /// `create`: leave the new container stopped.
    no_start: bool,
    port: u16,
    protocol: Option<String>,
    host_ip: Option<String>,
    labels: Vec<(String, String)>,
    #[serde(flatten)]
    spec: Spec,
}

/// What `create` puts in its container spec beyond `name`, `image` and
/// `command`, written compactly so a test can try every option the host must
/// check:
/// - `ports = ["8080:80", "127.0.0.1:8080:80/udp", "80"]`
/// - `mounts = ["volume:NAME:/dest", "bind:SRC:/dest:ro", "tmpfs:/dest", "anonymous:/dest"]`
/// - `networks = ["net", "net:alias1,alias2"]`
/// - `network_mode = "none" | "host" | "container:NAME"` (instead of `networks`)
/// - `pid`, `ipc` = `"host" | "container:NAME"`
/// - `devices = ["/dev/fuse:/dev/fuse:rwm"]`
#[derive(Deserialize, Default)]
#[serde(default)]
struct Spec {
    entrypoint: Option<Vec<String>>,
    env: Vec<(String, String)>,
    ports: Vec<String>,
    mounts: Vec<String>,
    networks: Vec<String>,
    network_mode: Option<String>,
    pid: Option<String>,
    ipc: Option<String>,
    cap_add: Vec<String>,
    cap_drop: Vec<String>,
    security_opt: Vec<String>,
    privileged: bool,
    devices: Vec<String>,
    user: Option<String>,
    restart: Option<String>,
}

pub fn run(c: Call) -> Result<(), Error> {
    let compression = if c.zstd {
        Compression::Zstd
    } else {
        Compression::None
    };
    let open = || containers::open(&c.name);
    match c.call.as_str() {
        "list" => {
            let lines: Vec<String> = containers::list(Filter::parse(&c.filter))?
                .into_iter()
                .map(|s| format!("{} {}", s.name, s.state))
                .collect();
            println!("{}", lines.join("\n"));
        }
        "open" => {
            let container = open()?;
            println!("name={} id={}", container.name(), container.id());
        }
        "inspect" => {
            let d = open()?.inspect()?;
            let mounts: Vec<String> = d
                .mounts
                .iter()
                .map(|m| match m {
                    Mount::Volume(v) => format!("volume:{}->{}", v.name, v.destination),
                    Mount::Bind(b) => format!("bind:{}->{}", b.source, b.destination),
                    Mount::Tmpfs(destination) => format!("tmpfs:->{destination}"),
                })
                .collect();
            let networks: Vec<String> = d
                .networks
                .iter()
                .map(|n| format!("{}[{}]", n.network, n.aliases.join(",")))
                .collect();
            println!(
                "name={} state={} running={} paused={} health={} mounts={} networks={} id={}",
                d.name,
                d.state,
                d.state.is_running(),
                d.state == containers::ContainerState::Paused,
                d.health.status,
                mounts.join(","),
                networks.join(","),
                d.id
            );
        }
        "exec" => {
            let mut request = ExecRequest::new(c.command.clone())
                .stdout_compression(compression)
                .stdin_compression(compression);
            if let Some(file) = &c.stdin_file {
                request = request.stdin_file(file);
            }
            if let Some(file) = &c.stdout_file {
                request = request.stdout_file(file);
            }
            if let Some(timeout) = c.timeout {
                request = request.timeout_seconds(timeout);
            }
            let r = open()?.exec(&request)?;
            let file = r
                .file
                .as_ref()
                .map(|f| format!("{} {}", f.bytes, f.sha256))
                .unwrap_or_else(|| "-".into());
            println!(
                "exit={} stdout={:?} stderr={:?} stdout_bytes={} tail={:?} file={}",
                r.exit_code,
                r.stdout_text(),
                r.stderr_text(),
                r.stdout_bytes,
                String::from_utf8_lossy(&r.stdout_tail),
                file
            );
        }
        "start" => open()?.start().map(ok)?,
        "stop" => open()?.stop(c.timeout).map(ok)?,
        "restart" => open()?.restart(c.timeout).map(ok)?,
        "kill" => {
            let signal = match &c.signal {
                Some(signal) => signal.parse()?,
                None => Signal::Sigkill,
            };
            open()?.kill(signal).map(ok)?
        }
        "pause" => open()?.pause().map(ok)?,
        "unpause" => open()?.unpause().map(ok)?,
        "wait-healthy" => println!(
            "health={}",
            open()?.wait_healthy(c.timeout.unwrap_or(30))?.status
        ),
        "logs" => print!("{}", open()?.logs(c.tail)?),
        "copy-out" => file_info(open()?.copy_out(&c.path, &c.file, compression)?),
        "copy-in" => open()?.copy_in(&c.path, &c.file, compression).map(ok)?,
        "remove" => open()?.remove().map(ok)?,
        "create" => {
            let container = stacks::create_container(&spec(&c)?)?;
            if !c.no_start {
                container.start()?;
            }
            println!("created {}", &container.id()[..12]);
        }
        "volume-list" => {
            for v in volumes::list()? {
                println!("{} used-by={}", v.name, v.used_by.join(","));
            }
        }
        "volume-snapshot" => file_info(volumes::snapshot(&c.volume, &c.file, compression)?),
        "volume-restore" => volumes::restore(&c.volume, &c.file, compression).map(ok)?,
        "volume-create" => println!("created={}", volumes::create(&c.volume, &c.labels)?),
        "volume-remove" => volumes::remove(&c.volume).map(ok)?,
        "image-list" => {
            for i in images::list()? {
                println!("{}", i.tags.join(","));
            }
        }
        "image-inspect" => println!("inspected {}", images::inspect(&c.image)?.id),
        "image-export" => file_info(images::export(&c.image, &c.file, compression)?),
        "image-present" => println!("present={}", images::present(&c.image)?),
        "image-pull" => images::pull(&c.image, c.timeout.unwrap_or(60)).map(ok)?,
        // Network-namespace helpers (chaos plugin).
        "netns-run" if c.detach => println!(
            "helper={}",
            network_faults::spawn(&open()?, &c.image, c.command.clone())?
        ),
        "netns-run" => {
            let out = network_faults::run(&open()?, &c.image, c.command.clone(), c.timeout)?;
            println!("exit={} output={:?}", out.exit_code, out.output.trim());
        }
        "netns-remove" => network_faults::remove(&c.name).map(ok)?,
        "netns-helpers" => println!("{}", network_faults::helpers(&open()?)?.len()),
        "network-create" => println!("created={}", stacks::network_create(&c.name, &c.labels)?),
        "network-list" => {
            for n in stacks::network_list()? {
                println!("{} {}", n.name, n.driver);
            }
        }
        "network-remove" => stacks::network_remove(&c.name).map(ok)?,
        "host-port-free" => {
            let protocol = c.protocol.as_deref().unwrap_or("tcp").parse()?;
            let free = stacks::host_port_free(c.host_ip.as_deref(), c.port, protocol)?;
            println!("free={free}");
        }
        "engine-info" => {
            let facts = stacks::engine_info()?;
            println!(
                "product={} local={} free={}",
                facts.product,
                facts.local,
                facts.free_bytes.is_some()
            );
        }
        other => return Err(Error::invalid_input(format!("unknown call `{other}`"))),
    }
    Ok(())
}

fn ok(_: ()) {
    println!("ok");
}

fn file_info(info: containers::FileInfo) {
    println!("file {} {}", info.bytes, info.sha256);
}

/// The container spec of `create`.
fn spec(c: &Call) -> Result<ContainerSpec, Error> {
    let s = &c.spec;
    let mut spec = ContainerSpec::new(&c.name, &c.image);
    if !c.command.is_empty() {
        spec.command = Some(c.command.clone());
    }
    spec.entrypoint = s.entrypoint.clone();
    spec.env = s.env.clone();
    spec.labels = c.labels.clone();
    spec.ports = s.ports.iter().map(|p| port(p)).collect::<Result<_, _>>()?;
    spec.mounts = s
        .mounts
        .iter()
        .map(|m| mount(m))
        .collect::<Result<_, _>>()?;
    spec.network_mode = match s.network_mode.as_deref() {
        None => NetworkMode::Networks(s.networks.iter().map(|n| attachment(n)).collect()),
        Some("none") => NetworkMode::None,
        Some("host") => NetworkMode::Host,
        Some(other) => match other.strip_prefix("container:") {
            Some(name) => NetworkMode::Container(name.to_owned()),
            None => return Err(bad("network_mode", other)),
        },
    };
    spec.pid_mode = namespace("pid", s.pid.as_deref())?;
    spec.ipc_mode = namespace("ipc", s.ipc.as_deref())?;
    spec.cap_add = s.cap_add.clone();
    spec.cap_drop = s.cap_drop.clone();
    spec.security_opt = s.security_opt.clone();
    spec.privileged = s.privileged;
    spec.devices = s
        .devices
        .iter()
        .map(|d| device(d))
        .collect::<Result<_, _>>()?;
    spec.user = s.user.clone();
    if let Some(restart) = &s.restart {
        spec.restart = restart.parse()?;
    }
    Ok(spec)
}

fn bad(what: &str, text: &str) -> Error {
    Error::invalid_input(format!("{what} `{text}` is not in the fixture's syntax"))
}

/// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`.
fn port(text: &str) -> Result<PortBinding, Error> {
    let (ports, protocol) = match text.split_once('/') {
        Some((ports, protocol)) => (ports, protocol.parse()?),
        None => (text, Protocol::Tcp),
    };
    let number = |p: &str| p.parse::<u16>().map_err(|_| bad("port", text));
    let parts: Vec<&str> = ports.split(':').collect();
    let (host_ip, host_port, container_port) = match parts[..] {
        [c] => (None, None, number(c)?),
        [h, c] => (None, Some(number(h)?), number(c)?),
        [ip, h, c] => (Some(ip.to_owned()), Some(number(h)?), number(c)?),
        _ => return Err(bad("port", text)),
    };
    Ok(PortBinding {
        container_port,
        protocol,
        host_ip,
        host_port,
    })
}

/// `volume:NAME:/dest[:ro]`, `bind:SRC:/dest[:ro]`, `tmpfs:/dest`, `anonymous:/dest`.
fn mount(text: &str) -> Result<MountSpec, Error> {
    let parts: Vec<&str> = text.split(':').collect();
    let read_only = parts.last() == Some(&"ro");
    Ok(match parts[..] {
        ["volume", volume, destination, ..] => MountSpec::Volume(VolumeMount {
            volume: volume.into(),
            destination: destination.into(),
            read_only,
        }),
        ["bind", source, destination, ..] => MountSpec::Bind(BindMount {
            source: source.into(),
            destination: destination.into(),
            read_only,
        }),
        ["tmpfs", destination] => MountSpec::Tmpfs(TmpfsMount {
            destination: destination.into(),
            size_bytes: None,
            mode: None,
        }),
        ["anonymous", destination] => MountSpec::Anonymous(destination.into()),
        _ => return Err(bad("mount", text)),
    })
}

/// `NETWORK[:ALIAS,ALIAS...]`.
fn attachment(text: &str) -> NetworkAttachment {
    let (network, aliases) = text.split_once(':').unwrap_or((text, ""));
    NetworkAttachment {
        network: network.into(),
        aliases: aliases
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        ipv4_address: None,
        ipv6_address: None,
    }
}

fn namespace(what: &str, text: Option<&str>) -> Result<NamespaceMode, Error> {
    Ok(match text {
        None => NamespaceMode::Private,
        Some("host") => NamespaceMode::Host,
        Some(other) => match other.strip_prefix("container:") {
            Some(name) => NamespaceMode::Container(name.to_owned()),
            None => return Err(bad(what, other)),
        },
    })
}

/// `HOST_PATH:CONTAINER_PATH[:PERMISSIONS]`.
fn device(text: &str) -> Result<Device, Error> {
    let parts: Vec<&str> = text.split(':').collect();
    let (host_path, container_path, permissions) = match parts[..] {
        [h] => (h, h, "rwm"),
        [h, c] => (h, c, "rwm"),
        [h, c, p] => (h, c, p),
        _ => return Err(bad("device", text)),
    };
    Ok(Device {
        host_path: host_path.into(),
        container_path: container_path.into(),
        permissions: permissions.into(),
    })
}
