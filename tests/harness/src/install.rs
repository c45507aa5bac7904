//! Finding, and if needed installing, the test servers (Electric's, Node's and `s2 lite`).
//!
//! Installs go to a cache outside the checkout, one folder per server and version, so that every
//! clone on a machine shares them: `${XDG_CACHE_HOME:-$HOME/.cache}/durable-streams-native/
//! test-servers/{electric-<version>,node-<version>,s2-<version>}` (override the root: `DS_TEST_SERVERS_DIR`).
//! Each install runs at most once per process (a `OnceLock`) and at most once at a
//! time across processes (a lock file created with `create_new`), because
//! `cargo test` runs test binaries in parallel and every one of them may need a server.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use crate::HarnessError;

/// Crate version of Electric's server installed by the harness.
pub const ELECTRIC_CRATE_VERSION: &str = "0.1.5";
/// npm version of the Node.js reference server installed by the harness.
pub const NODE_PACKAGE_VERSION: &str = "0.3.7";
/// Version of the `s2-cli` crate whose `s2 lite` is the S2 test server (keep in sync with
/// `S2_CLI_CRATE_VERSION` in `build.sh`).
pub const S2_CLI_CRATE_VERSION: &str = "0.43.4";

const NODE_PACKAGE: &str = "@durable-streams/server";
const START_MJS: &str = include_str!("start.mjs");

/// Where the servers are installed: `DS_TEST_SERVERS_DIR`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/durable-streams-native/test-servers`, else (no home
/// directory) `<workspace>/target/test-servers`.
pub fn test_servers_dir() -> PathBuf {
    if let Some(dir) = non_empty_env("DS_TEST_SERVERS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = non_empty_env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|home| Path::new(&home).join(".cache")));
    match cache {
        Some(cache) => cache.join("durable-streams-native").join("test-servers"),
        None => workspace_dir().join("target").join("test-servers"),
    }
}

/// The install folder of Electric's server (its `bin/` holds the binary).
fn electric_dir(servers: &Path) -> PathBuf {
    servers.join(format!("electric-{ELECTRIC_CRATE_VERSION}"))
}

/// The install folder of `s2 lite` (its `bin/` holds the `s2` binary).
fn s2_dir(servers: &Path) -> PathBuf {
    servers.join(format!("s2-{S2_CLI_CRATE_VERSION}"))
}

/// The install folder of the Node server (holds `node_modules/`).
fn node_dir(servers: &Path) -> PathBuf {
    servers.join(format!("node-{NODE_PACKAGE_VERSION}"))
}

/// The workspace root: two levels above this crate (`tests/harness`).
pub fn workspace_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Path of Electric's `durable-streams-server`, building it first if it is missing.
///
/// `DS_ELECTRIC_SERVER_BIN` names a prebuilt binary and disables building.
pub fn electric_server_bin() -> Result<PathBuf, HarnessError> {
    static RESULT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    RESULT
        .get_or_init(|| find_or_build_electric().map_err(|e| e.to_string()))
        .clone()
        .map_err(|detail| HarnessError::Install {
            what: "Electric server",
            detail,
        })
}

/// Directory holding `node_modules/@durable-streams/server` and `start.mjs`, installing
/// the package first if it is missing. `DS_NODE_SERVER_DIR` overrides the location.
pub fn node_server_dir() -> Result<PathBuf, HarnessError> {
    static RESULT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    RESULT
        .get_or_init(|| find_or_install_node().map_err(|e| e.to_string()))
        .clone()
        .map_err(|detail| HarnessError::Install {
            what: "Node reference server",
            detail,
        })
}

/// Path of the `s2` binary whose `s2 lite` subcommand is the S2 test server, building it first
/// (`cargo install s2-cli`, about 13-14 minutes) if it is missing.
///
/// `S2_LITE_BIN` names a prebuilt `s2` (it must be executable) and disables building.
pub fn s2_lite_bin() -> Result<PathBuf, HarnessError> {
    static RESULT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    RESULT
        .get_or_init(|| find_or_build_s2().map_err(|e| e.to_string()))
        .clone()
        .map_err(|detail| HarnessError::Install {
            what: "S2 lite server",
            detail,
        })
}

fn find_or_build_s2() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = non_empty_env("S2_LITE_BIN") {
        let bin = PathBuf::from(bin);
        return if is_executable(&bin) {
            Ok(bin)
        } else {
            Err(HarnessError::Install {
                what: "S2 lite server",
                detail: format!("S2_LITE_BIN={} is not an executable file", bin.display()),
            })
        };
    }
    let servers = test_servers_dir();
    let root = s2_dir(&servers);
    let bin = root.join("bin").join(exe("s2"));
    if is_executable(&bin) {
        return Ok(bin);
    }
    create_dir(&servers)?;
    let _lock = InstallLock::acquire(&servers.join(".s2-install.lock"), 60 * 60)?;
    if is_executable(&bin) {
        return Ok(bin); // another process built it while we waited
    }
    let log = servers.join("s2-install.log");
    eprintln!(
        "durable-streams-test-harness: building s2-cli {S2_CLI_CRATE_VERSION} for `s2 lite` \
         (about 13-14 minutes), log: {}",
        log.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["install", "--locked", "s2-cli", "--version"])
        .arg(S2_CLI_CRATE_VERSION)
        .arg("--root")
        .arg(&root);
    if std::env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    // As for Electric: the workspace's target dir may be locked by the running `cargo test`.
    cmd.env_remove("CARGO_TARGET_DIR");
    run_logged(cmd, &log, "cargo install s2-cli", "S2 lite server")?;
    if is_executable(&bin) {
        Ok(bin)
    } else {
        Err(HarnessError::Install {
            what: "S2 lite server",
            detail: format!("cargo install succeeded but {} is missing", bin.display()),
        })
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn find_or_build_electric() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = non_empty_env("DS_ELECTRIC_SERVER_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(HarnessError::Install {
                what: "Electric server",
                detail: format!("DS_ELECTRIC_SERVER_BIN={} does not exist", bin.display()),
            })
        };
    }
    let servers = test_servers_dir();
    let root = electric_dir(&servers);
    let bin = root.join("bin").join(exe("durable-streams-server"));
    if bin.is_file() {
        return Ok(bin);
    }
    create_dir(&servers)?;
    let _lock = InstallLock::acquire(&servers.join(".electric-install.lock"), 45 * 60)?;
    if bin.is_file() {
        return Ok(bin); // another process built it while we waited
    }
    let log = servers.join("electric-install.log");
    eprintln!(
        "durable-streams-test-harness: building Electric's server (2-3 minutes), log: {}",
        log.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["install", "--locked", "durable-streams", "--version"])
        .arg(ELECTRIC_CRATE_VERSION)
        .arg("--root")
        .arg(&root);
    if std::env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    // Use cargo install's own temporary target dir: the workspace's may be locked by the
    // `cargo test` that is running us.
    cmd.env_remove("CARGO_TARGET_DIR");
    run_logged(
        cmd,
        &log,
        "cargo install durable-streams",
        "Electric server",
    )?;
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(HarnessError::Install {
            what: "Electric server",
            detail: format!("cargo install succeeded but {} is missing", bin.display()),
        })
    }
}

fn find_or_install_node() -> Result<PathBuf, HarnessError> {
    let dir = match non_empty_env("DS_NODE_SERVER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => node_dir(&test_servers_dir()),
    };
    create_dir(&dir)?;
    if !node_package_installed(&dir) {
        let _lock = InstallLock::acquire(&dir.join(".install.lock"), 15 * 60)?;
        if !node_package_installed(&dir) {
            install_node_package(&dir)?;
        }
    }
    write_start_mjs(&dir)?;
    Ok(dir)
}

fn node_package_installed(dir: &Path) -> bool {
    let manifest = dir
        .join("node_modules")
        .join(NODE_PACKAGE)
        .join("package.json");
    let Ok(text) = fs::read_to_string(manifest) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version")?.as_str().map(str::to_owned))
        .is_some_and(|v| v == NODE_PACKAGE_VERSION)
}

fn install_node_package(dir: &Path) -> Result<(), HarnessError> {
    // Without a package.json here npm would install into the nearest ancestor project.
    let package_json = dir.join("package.json");
    if !package_json.exists() {
        fs::write(
            &package_json,
            "{\n  \"name\": \"ds-test-servers-node\",\n  \"private\": true\n}\n",
        )
        .map_err(|e| io_error(format!("writing {}", package_json.display()), e))?;
    }
    let log = dir.join("npm-install.log");
    eprintln!(
        "durable-streams-test-harness: installing {NODE_PACKAGE}@{NODE_PACKAGE_VERSION}, log: {}",
        log.display()
    );
    let npm = non_empty_env("DS_NPM_BIN").unwrap_or_else(|| "npm".to_string());
    let mut cmd = Command::new(npm);
    cmd.args(["install", "--no-audit", "--no-fund"])
        .arg(format!("{NODE_PACKAGE}@{NODE_PACKAGE_VERSION}"))
        .current_dir(dir);
    run_logged(cmd, &log, "npm install", "Node reference server")?;
    if node_package_installed(dir) {
        Ok(())
    } else {
        Err(HarnessError::Install {
            what: "Node reference server",
            detail: format!(
                "npm install succeeded but {NODE_PACKAGE} is missing in {}",
                dir.display()
            ),
        })
    }
}

/// Writes `start.mjs` if it differs, via rename so concurrent starters never see half a file.
fn write_start_mjs(dir: &Path) -> Result<(), HarnessError> {
    let path = dir.join("start.mjs");
    if fs::read_to_string(&path).is_ok_and(|s| s == START_MJS) {
        return Ok(());
    }
    let tmp = dir.join(format!(".start.mjs.{}.tmp", std::process::id()));
    fs::write(&tmp, START_MJS)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| io_error(format!("writing {}", path.display()), e))
}

/// Runs `cmd` with stdout+stderr appended to `log`; a failure carries the log's tail.
fn run_logged(
    mut cmd: Command,
    log: &Path,
    what: &str,
    server: &'static str,
) -> Result<(), HarnessError> {
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| io_error(format!("opening {}", log.display()), e))
    };
    let out = open()?;
    let err = out
        .try_clone()
        .map_err(|e| io_error(format!("opening {}", log.display()), e))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| io_error(format!("running {what}"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(HarnessError::Install {
            what: server,
            detail: format!(
                "{what} failed ({status}); last lines of {}:\n{}",
                log.display(),
                crate::file_tail(log, 40)
            ),
        })
    }
}

/// A cross-process lock: a file created with `create_new`, removed on drop.
///
/// A lock is considered stale (and broken) when its owner process is gone (checked
/// through `/proc` where available) or when it is older than `max_age_secs`.
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    fn acquire(path: &Path, max_age_secs: u64) -> Result<Self, HarnessError> {
        let max_age = Duration::from_secs(max_age_secs);
        let deadline = SystemTime::now() + max_age + Duration::from_secs(60);
        let mut announced = false;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    // Best effort: the pid only helps stale-lock detection.
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(InstallLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path, max_age) {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if SystemTime::now() > deadline {
                        return Err(HarnessError::Install {
                            what: "test servers",
                            detail: format!("timed out waiting for lock {}", path.display()),
                        });
                    }
                    if !announced {
                        eprintln!(
                            "durable-streams-test-harness: waiting for another install ({})",
                            path.display()
                        );
                        announced = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(io_error(format!("creating lock {}", path.display()), e)),
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn lock_is_stale(path: &Path, max_age: Duration) -> bool {
    let too_old = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > max_age);
    if too_old {
        return true;
    }
    // Owner pid gone? Only decidable where /proc exists; an empty file may be mid-write.
    let proc_fs = Path::new("/proc/self");
    if !proc_fs.exists() {
        return false;
    }
    match fs::read_to_string(path).map(|s| s.trim().parse::<u32>()) {
        Ok(Ok(pid)) => !Path::new(&format!("/proc/{pid}")).exists(),
        _ => false,
    }
}

fn create_dir(dir: &Path) -> Result<(), HarnessError> {
    fs::create_dir_all(dir).map_err(|e| io_error(format!("creating {}", dir.display()), e))
}

fn io_error(context: String, source: std::io::Error) -> HarnessError {
    HarnessError::Io { context, source }
}

pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_excludes_and_releases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        let lock = InstallLock::acquire(&path, 60).expect("first acquire");
        assert!(path.exists());
        assert!(!lock_is_stale(&path, Duration::from_secs(60)));
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn lock_of_dead_pid_is_stale() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        // pid_max on Linux is at most 2^22, so this pid cannot exist.
        fs::write(&path, "99999999\n").expect("write lock");
        assert!(lock_is_stale(&path, Duration::from_secs(60)));
        let _lock = InstallLock::acquire(&path, 60).expect("stale lock is broken");
    }

    #[test]
    fn install_folders_are_keyed_by_version() {
        let root = Path::new("/cache/test-servers");
        assert_eq!(
            electric_dir(root),
            root.join(format!("electric-{ELECTRIC_CRATE_VERSION}"))
        );
        assert_eq!(
            node_dir(root),
            root.join(format!("node-{NODE_PACKAGE_VERSION}"))
        );
        assert_eq!(
            s2_dir(root),
            root.join(format!("s2-{S2_CLI_CRATE_VERSION}"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_executable_files_count_as_executables() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("tool");
        fs::write(&file, "#!/bin/sh\n").expect("write");
        assert!(!is_executable(&file), "mode 0644");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(is_executable(&file));
        assert!(!is_executable(dir.path()), "a directory");
        assert!(!is_executable(&dir.path().join("missing")));
    }

    #[test]
    fn workspace_dir_holds_the_workspace_manifest() {
        assert!(workspace_dir().join("Cargo.toml").is_file());
    }
}
