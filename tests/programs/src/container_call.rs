//! `mode = "container-call"`: one call of the container interface, chosen by
//! `call`, printing a stable one-line (or few-line) summary of the result, so
//! the host's container capability can be tested through a real plugin.

use run_plugin_sdk::Error;
use run_plugin_sdk::container::{self, Compression, ExecRequest};
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
}

pub fn run(c: Call) -> Result<(), Error> {
    let compression = if c.zstd {
        Compression::Zstd
    } else {
        Compression::None
    };
    match c.call.as_str() {
        "list" => {
            let mut lines: Vec<String> = container::list(&c.filter)?
                .into_iter()
                .map(|s| format!("{} {}", s.name, s.state))
                .collect();
            lines.sort();
            println!("{}", lines.join("\n"));
        }
        "inspect" => {
            let d = container::inspect(&c.name)?;
            let mounts: Vec<String> = d
                .mounts
                .iter()
                .map(|m| format!("{}:{}->{}", m.kind, m.source, m.destination))
                .collect();
            println!(
                "name={} state={} running={} paused={} health={} mounts={}",
                d.name,
                d.state,
                d.running,
                d.paused,
                d.health.status,
                mounts.join(",")
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
            let r = container::exec(&c.name, &request)?;
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
        "start" => container::start(&c.name).map(ok)?,
        "stop" => container::stop(&c.name, c.timeout).map(ok)?,
        "restart" => container::restart(&c.name, c.timeout).map(ok)?,
        "kill" => container::kill(&c.name, c.signal.as_deref()).map(ok)?,
        "pause" => container::pause(&c.name).map(ok)?,
        "unpause" => container::unpause(&c.name).map(ok)?,
        "wait-healthy" => println!(
            "health={}",
            container::wait_healthy(&c.name, c.timeout.unwrap_or(30))?.status
        ),
        "logs" => print!("{}", container::logs(&c.name, c.tail)?),
        "copy-out" => file_info(container::copy_out(&c.name, &c.path, &c.file, compression)?),
        "copy-in" => container::copy_in(&c.name, &c.path, &c.file, compression).map(ok)?,
        "volume-list" => {
            for v in container::volume_list()? {
                println!("{} used-by={}", v.name, v.used_by.join(","));
            }
        }
        "volume-snapshot" => {
            file_info(container::volume_snapshot(&c.volume, &c.file, compression)?)
        }
        "volume-restore" => container::volume_restore(&c.volume, &c.file, compression).map(ok)?,
        "create" => {
            let mut request = container::CreateRequest::new(&c.name, &c.image);
            if !c.command.is_empty() {
                request = request.command(c.command.clone());
            }
            let id = container::create(&request)?;
            println!("created {}", &id[..12.min(id.len())]);
        }
        "remove" => container::remove(&c.name).map(ok)?,
        "image-list" => {
            for i in container::image_list()? {
                println!("{}", i.tags.join(","));
            }
        }
        "image-inspect" => println!(
            "inspected {}",
            container::image_inspect(&c.image)?.is_object()
        ),
        "image-export" => file_info(container::image_export(&c.image, &c.file, compression)?),
        // Network-namespace helpers (chaos plugin).
        "netns-run" if c.detach => println!(
            "helper={}",
            run_plugin_sdk::netns::spawn(&c.name, &c.image, c.command.clone())?
        ),
        "netns-run" => {
            let out = run_plugin_sdk::netns::run(&c.name, &c.image, c.command.clone(), c.timeout)?;
            println!("exit={} output={:?}", out.exit_code, out.output.trim());
        }
        "netns-remove" => run_plugin_sdk::netns::remove(&c.name).map(ok)?,
        "netns-helpers" => println!("{}", run_plugin_sdk::netns::helpers(&c.name)?.len()),
        other => return Err(Error::invalid_input(format!("unknown call `{other}`"))),
    }
    Ok(())
}

fn ok(_: ()) {
    println!("ok");
}

fn file_info(info: container::FileInfo) {
    println!("file {} {}", info.bytes, info.sha256);
}
