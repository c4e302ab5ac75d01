//! The header memory across mounts (issue 12, item 9): run as root, with
//! an ext4 image on a loop device mounted in a mount namespace of the
//! test's own; elsewhere it prints a SKIP line.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use pycache_compile::HeaderMemory;

/// Runs `body` on a thread with a mount namespace of its own (so that the
/// machine's mounts are untouched); `None` when the kernel refuses.
fn in_own_mount_namespace<R: Send>(test: &str, body: impl FnOnce() -> R + Send) -> Option<R> {
    use nix::mount::{MsFlags, mount};
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let private = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).and_then(|()| {
                    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
                });
                match private {
                    Ok(()) => Some(body()),
                    Err(err) => {
                        eprintln!("SKIP {test}: no mount namespace here ({err})");
                        None
                    }
                }
            })
            .join()
            .unwrap()
    })
}

fn run(program: &str, args: &[&OsStr]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Replaces `from` by `to` (same length) in the block device `device`.
fn patch(device: &Path, from: &[u8], to: &[u8]) {
    use std::io::{Seek, Write};
    let bytes = std::fs::read(device).unwrap();
    let at = bytes.windows(from.len()).position(|w| w == from).expect("the file's bytes in the image");
    let mut dev = std::fs::File::options().write(true).open(device).unwrap();
    dev.seek(std::io::SeekFrom::Start(at as u64)).unwrap();
    dev.write_all(to).unwrap();
    dev.sync_all().unwrap();
}

fn identity(path: &Path) -> (u64, u64, u64, i64, i64, i64, i64) {
    let m = std::fs::metadata(path).unwrap();
    (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
}

/// Another file system image mounted at the same path, holding a file with
/// the same device, inode, size, mtime and ctime as the one the memory
/// remembers, got the remembered header: a stale cache was called fresh.
#[test]
fn regression_header_memory_is_not_trusted_on_another_mount() {
    let test = "regression_header_memory_is_not_trusted_on_another_mount";
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP {test}: mounting needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("fs.img");
    std::fs::File::create(&image).unwrap().set_len(16 << 20).unwrap();
    if let Err(err) = run("mkfs.ext4", &["-q".as_ref(), "-F".as_ref(), image.as_os_str()]) {
        eprintln!("SKIP {test}: cannot make an ext4 image ({err})");
        return;
    }
    let mount_point = dir.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    let store = dir.path().join("memory.bin");
    in_own_mount_namespace(test, || {
        use nix::mount::{MsFlags, mount, umount};
        // One loop device for both mounts, so that the device number is
        // the same, as it was in the report.
        let device = match run("losetup", &["--find".as_ref(), "--show".as_ref(), image.as_os_str()]) {
            Ok(device) => std::path::PathBuf::from(device),
            Err(err) => {
                eprintln!("SKIP {test}: no loop device ({err})");
                return;
            }
        };
        let mount_image = || mount(Some(&device), &mount_point, Some("ext4"), MsFlags::empty(), None::<&str>);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Err(err) = mount_image() {
                eprintln!("SKIP {test}: cannot mount the image ({err})");
                return;
            }
            let cache = mount_point.join("m.cpython-312.pyc");
            std::fs::write(&cache, b"FIRST-IMAGE-HEAD-0123456789").unwrap();
            // Old enough to be remembered (see `HeaderMemory`).
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut memory = HeaderMemory::open(Some(store.clone()));
            assert_eq!(memory.head(&cache).unwrap(), b"FIRST-IMAGE-HEAD-");
            memory.save();
            let first = identity(&cache);
            umount(&mount_point).unwrap();

            // The other image: the same file system with other bytes in
            // that file, written below the file system.
            patch(&device, b"FIRST-IMAGE-HEAD-0123456789", b"OTHER-IMAGE-HEAD-0123456789");
            mount_image().unwrap();
            assert_eq!(identity(&cache), first, "the premise: an identical device, inode, size and times");
            assert_eq!(std::fs::read(&cache).unwrap(), b"OTHER-IMAGE-HEAD-0123456789");
            let memory = HeaderMemory::open(Some(store.clone()));
            assert_eq!(memory.head(&cache).unwrap(), b"OTHER-IMAGE-HEAD-", "the remembered header was trusted");
            umount(&mount_point).unwrap();
        }));
        let _ = umount(&mount_point);
        let _ = run("losetup", &["-d".as_ref(), device.as_os_str()]);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    });
}
