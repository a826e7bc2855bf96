//! PostgreSQL and Redis for the tests: each test starts its own instance on a free
//! loopback port, in a temporary directory, and stops it when the handle drops. The
//! tests install nothing: the servers come from the distribution's packages
//! (`redis-server`, `postgresql`), which `.ci/run` installs. Without them a test fails
//! and says what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) use crate::temp_dir::temp_dir;

const MISSING: &str = "install the distribution's redis-server and postgresql packages \
     (`.ci/run` does: apt-get install redis-server postgresql)";

/// A port nothing listens on, never handed out before in this process (so two
/// instances started at once never get the same one).
fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until something listens on `port` (bounded).
fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} did not start on port {port}:\n{log}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL's server programs: the newest `/usr/lib/postgresql/*/bin` (Debian's
/// layout), else the PATH.
fn pg_bin(program: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    if let Some(found) = dirs
        .iter()
        .rev()
        .map(|d| d.join(program))
        .find(|p| p.exists())
    {
        return found;
    }
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    on_path.unwrap_or_else(|| panic!("no PostgreSQL `{program}` found: {MISSING}"))
}

/// A command run as the `postgres` user when the tests run as root (PostgreSQL
/// refuses to run as root); `setpriv` execs it, so the child is the program itself.
fn as_postgres(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL instance of the test's own.
pub(crate) struct Pg {
    dir: PathBuf,
    port: u16,
    root: bool,
    /// `ssl=on` with these files (certificate, key) in the cluster's directory.
    tls: Option<(PathBuf, PathBuf)>,
    child: Option<Child>,
    databases: AtomicU64,
}

impl Pg {
    /// A fresh cluster (initdb), started.
    pub(crate) fn start() -> Pg {
        Pg::start_with(None)
    }

    /// A fresh cluster that serves TLS (too) with this certificate and key (PEM).
    pub(crate) fn start_tls(cert_pem: &str, key_pem: &str) -> Pg {
        Pg::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Pg {
        let root = is_root();
        let dir = temp_dir("pg");
        let tls = tls.map(|(cert, key)| {
            use std::os::unix::fs::PermissionsExt;
            let (c, k) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::write(&c, cert).unwrap();
            std::fs::write(&k, key).unwrap();
            // PostgreSQL refuses a key that others may read.
            std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
            // TCP only over TLS: a plaintext connection is refused, so a test that
            // works proves the connection was TLS.
            std::fs::write(
                dir.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            (c, k)
        });
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown of {}", dir.display());
        }
        let out = as_postgres(&pg_bin("initdb"), root)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(dir.join("data"))
            .output()
            .unwrap_or_else(|e| panic!("initdb: {e}: {MISSING}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Pg {
            dir,
            port: free_port(),
            root,
            tls,
            child: None,
            databases: AtomicU64::new(0),
        };
        pg.run();
        pg
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Starts the server on the cluster (again, after [`Pg::crash`]).
    pub(crate) fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let mut command = as_postgres(&pg_bin("postgres"), self.root);
        if let Some((cert, key)) = &self.tls {
            command.args(["-c", "ssl=on", "-c"]);
            command.arg(format!("ssl_cert_file={}", cert.display()));
            command
                .arg("-c")
                .arg(format!("ssl_key_file={}", key.display()));
            command.arg("-c").arg(format!(
                "hba_file={}",
                self.dir.join("pg_hba.conf").display()
            ));
        }
        let child = command
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("postgres: {e}: {MISSING}"));
        self.child = Some(child);
        wait_for_port(self.port, "postgres", &self.log());
        // Accepting connections is not yet accepting queries: wait for `pg_isready`.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = Command::new(pg_bin("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("postgres never became ready");
    }

    /// Stops the server the way a crash does: an immediate shutdown, no checkpoint
    /// (the next start recovers from the write-ahead log).
    pub(crate) fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: PostgreSQL's immediate shutdown.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// A new empty database on this instance, and its URL.
    pub(crate) fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("pw_auth_{n}");
        let out = Command::new(pg_bin("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
            ])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "create database: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT: a fast shutdown.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis instance of the test's own, persisting every write (append-only file,
/// fsync always), so a restart loses no budget.
pub(crate) struct Redis {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// Serves TLS only, with these files (certificate, key).
    tls: Option<(PathBuf, PathBuf)>,
}

impl Redis {
    /// A fresh instance, started.
    pub(crate) fn start() -> Redis {
        let mut r = Redis {
            dir: temp_dir("redis"),
            port: free_port(),
            child: None,
            tls: None,
        };
        r.run();
        r
    }

    /// A fresh instance that speaks TLS only, with this certificate and key (PEM).
    pub(crate) fn start_tls(cert_pem: &str, key_pem: &str) -> Redis {
        let dir = temp_dir("redis-tls");
        let (c, k) = (dir.join("server.crt"), dir.join("server.key"));
        std::fs::write(&c, cert_pem).unwrap();
        std::fs::write(&k, key_pem).unwrap();
        let mut r = Redis {
            dir,
            port: free_port(),
            child: None,
            tls: Some((c, k)),
        };
        r.run();
        r
    }

    fn log(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Starts the server (again, after [`Redis::kill`]) on the same port and data.
    pub(crate) fn run(&mut self) {
        let mut command = Command::new("redis-server");
        match &self.tls {
            Some((cert, key)) => {
                command
                    .args(["--port", "0", "--tls-port", &self.port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(cert)
                    .arg("--tls-key-file")
                    .arg(key)
                    .args(["--tls-auth-clients", "no"]);
            }
            None => {
                command.args(["--port", &self.port.to_string()]);
            }
        }
        let child = command
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--logfile",
            ])
            .arg(self.log())
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server: {e}: {MISSING}"));
        self.child = Some(child);
        wait_for_port(self.port, "redis-server", &self.log());
        let alive = self
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        assert!(alive, "redis-server exited: port {} taken?", self.port);
    }

    /// Kills the server (SIGKILL: no goodbye).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its URL (`rediss://` when it speaks TLS).
    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
