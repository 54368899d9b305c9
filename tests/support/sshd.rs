//! A local sshd (Debian's openssh-server) on a free port with a test key,
//! so `DOCKER_HOST=ssh://root@127.0.0.1:PORT` reaches the local engine
//! through `docker system dial-stdio`, as a remote build box would.
#![allow(dead_code)]

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("these tests need ssh-keygen (Debian's openssh-client)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Sshd {
    /// Starts sshd as root on 127.0.0.1, key login only.
    pub fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "these tests need sshd: apt-get install openssh-server"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("id"));
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {0}/host_key\nAuthorizedKeysFile {0}/authorized_keys\nPidFile {0}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\n",
            d.display()
        );
        // The remote docker CLI talks to the engine the tests use.
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            config.push_str(&format!("SetEnv DOCKER_HOST={host}\n"));
        }
        std::fs::write(d.join("sshd_config"), config).unwrap();
        // The client: the test key, and this host's key taken on first use
        // (what a user's ~/.ssh/config would say).
        let ssh = format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F /dev/null -i {0}/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n",
            d.display()
        );
        std::fs::create_dir(d.join("bin")).unwrap();
        std::fs::write(d.join("bin/ssh"), ssh).unwrap();
        std::fs::set_permissions(d.join("bin/ssh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd { port, dir, child }
    }

    /// `ssh://root@127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// PATH with the test's `ssh` first.
    pub fn path(&self) -> String {
        let bin: PathBuf = self.dir.path().join("bin");
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The environment that points `run` at the engine through this sshd.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DOCKER_HOST".to_owned(), self.host()),
            ("PATH".to_owned(), self.path()),
        ]
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
