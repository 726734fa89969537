//! `--pin-dir`: a bpffs directory an instance created and marked as its own. It holds the
//! instance's XDP links, TC fallback links, program and maps, so the fast path outlives the
//! process (SIGKILL) and the next `run` of the instance adopts the links (loader.rs).
//!
//! Layout: [`OWNER`], a one-entry array map holding the instance name (bpffs holds only pins
//! and directories, so the marker is a pin); [`PROGRAM`]; one pin per map, by its object name;
//! `link_<ifname>` (the XDP link) and `tc_<ifname>` (the TC fallback's TCX link) per attached
//! interface (`.` and `%` percent-encoded: bpffs refuses names with a dot). A directory
//! without our marker, or with another instance's, is refused and never touched; nothing is
//! removed that this module cannot name as the instance's.

use std::{
    ffi::CString,
    fs, io,
    os::{
        fd::{AsFd as _, AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd},
        unix::ffi::OsStrExt as _,
    },
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use aya::maps::{Array, Map, MapData, MapInfo};
use serde::{Deserialize, Serialize};

/// The marker pin: an array map `[u8; OWNER_LEN]` holding the instance name, NUL-padded.
pub const OWNER: &str = "LWM2M_XDP_OWNER";
/// The XDP program's pin.
pub const PROGRAM: &str = "program";
const LINK_PREFIX: &str = "link_";
const TC_LINK_PREFIX: &str = "tc_";
/// Instance names are at most 64 octets (instance::check_name).
const OWNER_LEN: usize = 64;

type OwnerValue = [u8; OWNER_LEN];

/// bpf(2) commands (include/uapi/linux/bpf.h): not in libc, and aya keeps its own private.
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_LINK_DETACH: libc::c_long = 34;

/// `union bpf_attr` as BPF_OBJ_GET reads it (the kernel accepts a shorter attr).
#[repr(C)]
struct ObjGetAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// `union bpf_attr` as BPF_LINK_DETACH reads it.
#[repr(C)]
struct LinkDetachAttr {
    link_fd: u32,
}

fn sys_bpf<T>(cmd: libc::c_long, attr: &T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live repr(C) prefix of union bpf_attr for `cmd`, its size given.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// A descriptor of the object pinned at `path` (BPF_OBJ_GET).
pub fn open_pin(path: &Path) -> Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("{} contains a NUL", path.display()))?;
    let attr = ObjGetAttr {
        pathname: c.as_ptr() as u64,
        bpf_fd: 0,
        file_flags: 0,
    };
    let fd = sys_bpf(BPF_OBJ_GET, &attr).with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: BPF_OBJ_GET returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Detaches a link from its hook at once (BPF_LINK_DETACH). Unpinning alone is not enough:
/// bpffs drops a pin's reference only after an RCU grace period, so the interface would keep
/// the program a moment after the pin is gone, and an attach right then would find it busy.
pub fn detach_link(link: BorrowedFd<'_>) -> Result<()> {
    let attr = LinkDetachAttr {
        link_fd: link.as_raw_fd() as u32,
    };
    sys_bpf(BPF_LINK_DETACH, &attr).context("BPF_LINK_DETACH")?;
    Ok(())
}

/// What one pin holds (how its kernel ID is read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Owner,
    Program,
    Map,
    Link,
}

/// One pin the instance made, as the state file records it for `detach`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub name: String,
    pub kind: Kind,
    /// The kernel object's ID: `detach` removes the pin only while it still holds this object.
    pub id: u32,
}

/// A pin directory owned by one instance (its marker checked or just written).
#[derive(Debug)]
pub struct PinDir {
    path: PathBuf,
    instance: String,
    /// This run created the directory (it did not exist).
    pub created: bool,
}

/// True when `path` is on a bpffs (statfs magic BPF_FS_MAGIC).
pub fn on_bpffs(path: &Path) -> Result<bool> {
    let c = CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("{} contains a NUL", path.display()))?;
    // SAFETY: statfs fills the zeroed struct we own; `c` is a valid C string.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error())
            .with_context(|| format!("statfs {}", path.display()));
    }
    Ok(st.f_type == libc::BPF_FS_MAGIC)
}

impl PinDir {
    /// For `run`: the directory `path` for `instance`, created with our marker when it does not
    /// exist (its parent must be on bpffs), else used only when it is a bpffs directory with
    /// this instance's marker. Anything else is refused and left as it is.
    pub fn claim(path: &Path, instance: &str) -> Result<PinDir> {
        match fs::symlink_metadata(path) {
            Ok(_) => PinDir::open(path, instance),
            Err(e) if e.kind() == io::ErrorKind::NotFound => PinDir::create(path, instance),
            Err(e) => Err(e).with_context(|| format!("--pin-dir {}", path.display())),
        }
    }

    fn create(path: &Path, instance: &str) -> Result<PinDir> {
        if path.starts_with(BPFFS) {
            ensure_bpffs()?;
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            bail!(
                "--pin-dir {}: its parent {} is not a directory; the parent must exist on bpffs",
                path.display(),
                parent.display()
            );
        }
        if !on_bpffs(parent)? {
            bail!(
                "--pin-dir {}: {} is not on bpffs; a pin dir must be on a bpf file system (e.g. under {})",
                path.display(),
                parent.display(),
                BPFFS
            );
        }
        fs::create_dir(path).with_context(|| format!("creating {}", path.display()))?;
        let dir = PinDir {
            path: path.to_path_buf(),
            instance: instance.to_string(),
            created: true,
        };
        if let Err(e) = dir.write_owner() {
            let _ = fs::remove_dir(path);
            return Err(e);
        }
        Ok(dir)
    }

    /// An existing pin dir of `instance` (`run` taking over, `detach` after a crash): a bpffs
    /// directory whose marker names `instance`. Refused otherwise, untouched.
    pub fn open(path: &Path, instance: &str) -> Result<PinDir> {
        let shown = path.display();
        let meta = fs::symlink_metadata(path).with_context(|| format!("--pin-dir {shown}"))?;
        if !meta.is_dir() {
            bail!("--pin-dir {shown} is not a directory; refusing to use it (left untouched)");
        }
        if !on_bpffs(path)? {
            bail!("--pin-dir {shown} is not on bpffs; refusing to use it (left untouched): a pin dir must be a directory on a bpf file system that lwm2m-xdp creates");
        }
        let owner = read_owner(&path.join(OWNER)).with_context(|| {
            format!("--pin-dir {shown} exists but was not created by lwm2m-xdp (no {OWNER} marker); refusing to use it (left untouched): name a directory that does not exist yet")
        })?;
        if owner != instance {
            bail!("--pin-dir {shown} belongs to instance {owner:?}, not {instance:?}; refusing to use it (left untouched)");
        }
        Ok(PinDir {
            path: path.to_path_buf(),
            instance: instance.to_string(),
            created: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The pin name of `ifname`'s XDP link.
    pub fn link_name(ifname: &str) -> String {
        encode_ifname(LINK_PREFIX, ifname)
    }

    /// The pin name of `ifname`'s TC fallback link.
    pub fn tc_link_name(ifname: &str) -> String {
        encode_ifname(TC_LINK_PREFIX, ifname)
    }

    /// The pinned XDP links in the directory: (interface name, pin name).
    pub fn links(&self) -> Result<Vec<(String, String)>> {
        self.pinned_with(LINK_PREFIX)
    }

    /// The pinned TC fallback links in the directory: (interface name, pin name).
    pub fn tc_links(&self) -> Result<Vec<(String, String)>> {
        self.pinned_with(TC_LINK_PREFIX)
    }

    fn pinned_with(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut links = Vec::new();
        for entry in
            fs::read_dir(&self.path).with_context(|| format!("reading {}", self.path.display()))?
        {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(ifname) = name.strip_prefix(prefix).and_then(decode_ifname) {
                links.push((ifname, name));
            }
        }
        links.sort();
        Ok(links)
    }

    /// Detaches the link pinned as `name` and unpins it.
    pub fn remove_link(&self, name: &str, link: BorrowedFd<'_>) -> Result<()> {
        detach_link(link).with_context(|| format!("detaching {}", self.join(name).display()))?;
        self.remove(name)
    }

    /// Detaches the link pinned as `name` where it still can be (a link whose interface is
    /// gone is detached already: best effort), then unpins it.
    pub fn discard_link(&self, name: &str) -> Result<()> {
        let _ = open_pin(&self.join(name)).and_then(|link| detach_link(link.as_fd()));
        self.remove(name)
    }

    /// Unpins `name` (a missing pin is not an error).
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("unpinning {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The kernel ID of the object pinned as `name`, read as `kind`.
    pub fn id(&self, name: &str, kind: Kind) -> Result<u32> {
        pinned_id(&self.join(name), kind)
    }

    /// The marker as a state-file record.
    pub fn owner_pin(&self) -> Result<Pin> {
        Ok(Pin {
            name: OWNER.to_string(),
            kind: Kind::Owner,
            id: self.id(OWNER, Kind::Owner)?,
        })
    }

    /// Removes the marker and the directory. Entries other than the marker are never removed
    /// here: if any are left, the directory stays and the error lists them.
    pub fn close(self) -> Result<()> {
        let left: Vec<String> = fs::read_dir(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != OWNER)
            .collect();
        if !left.is_empty() {
            bail!(
                "{} keeps {left:?}, not removed by this instance; the directory and its {OWNER} marker stay",
                self.path.display()
            );
        }
        self.remove(OWNER)?;
        fs::remove_dir(&self.path).with_context(|| format!("removing {}", self.path.display()))
    }

    fn write_owner(&self) -> Result<()> {
        let mut value: OwnerValue = [0; OWNER_LEN];
        let name = self.instance.as_bytes();
        if name.len() > OWNER_LEN {
            bail!(
                "instance name {:?} is longer than {OWNER_LEN} octets",
                self.instance
            );
        }
        value[..name.len()].copy_from_slice(name);
        let mut marker: Array<MapData, OwnerValue> =
            Array::create(1, 0).context("creating the pin dir's owner marker map")?;
        marker.set(0, value, 0)?;
        let path = self.join(OWNER);
        marker
            .pin(&path)
            .with_context(|| format!("pinning {}", path.display()))
    }
}

/// The instance name held by a marker pin; an error when `path` is no such marker.
fn read_owner(path: &Path) -> Result<String> {
    let data = MapData::from_pin(path).with_context(|| format!("opening {}", path.display()))?;
    let marker: Array<MapData, OwnerValue> = Array::try_from(Map::from_map_data(data)?)
        .with_context(|| format!("{} is not an owner marker", path.display()))?;
    let value = marker.get(&0, 0)?;
    let len = value.iter().position(|b| *b == 0).unwrap_or(OWNER_LEN);
    String::from_utf8(value[..len].to_vec())
        .with_context(|| format!("{} holds no instance name", path.display()))
}

/// The kernel ID of the object pinned at `path`.
pub fn pinned_id(path: &Path, kind: Kind) -> Result<u32> {
    let shown = path.display();
    Ok(match kind {
        Kind::Owner | Kind::Map => MapInfo::from_pin(path)
            .with_context(|| format!("opening map pin {shown}"))?
            .id(),
        Kind::Program => aya::programs::ProgramInfo::from_pin(path)
            .with_context(|| format!("opening program pin {shown}"))?
            .id(),
        Kind::Link => aya::programs::links::FdLink::from(
            aya::programs::links::PinnedLink::from_pin(path)
                .with_context(|| format!("opening link pin {shown}"))?,
        )
        .info()
        .with_context(|| format!("reading link {shown}"))?
        .id(),
    })
}

fn encode_ifname(prefix: &str, ifname: &str) -> String {
    let mut name = String::from(prefix);
    for c in ifname.chars() {
        match c {
            '%' => name.push_str("%25"),
            '.' => name.push_str("%2E"),
            c => name.push(c),
        }
    }
    name
}

fn decode_ifname(encoded: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = encoded;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        match rest.get(i + 1..i + 3) {
            Some("25") => out.push('%'),
            Some("2E") => out.push('.'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    (!out.is_empty()).then_some(out)
}

/// Where bpffs is mounted, and where pin directories usually live.
pub const BPFFS: &str = "/sys/fs/bpf";

/// Mount bpffs at /sys/fs/bpf when nothing is mounted there (toolchain.md: it is not, on
/// these machines).
pub fn ensure_bpffs() -> Result<()> {
    let mounts = fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    if mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(BPFFS) && l.split(' ').nth(2) == Some("bpf"))
    {
        return Ok(());
    }
    let src = std::ffi::CString::new("bpf").unwrap();
    let dst = std::ffi::CString::new(BPFFS).unwrap();
    // SAFETY: valid C strings; a plain mount without data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("mount -t bpf bpf /sys/fs/bpf");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_have_no_dot_and_decode_back() {
        for ifname in ["eth0", "eth0.100", "a%b", "x.%.y", "veth-lwx_1"] {
            for (name, prefix) in [
                (PinDir::link_name(ifname), LINK_PREFIX),
                (PinDir::tc_link_name(ifname), TC_LINK_PREFIX),
            ] {
                assert!(!name.contains('.'), "{name}");
                assert_eq!(
                    name.strip_prefix(prefix).and_then(decode_ifname).as_deref(),
                    Some(ifname)
                );
            }
        }
        assert_eq!(decode_ifname("bad%2"), None);
        assert_eq!(decode_ifname("bad%41"), None);
        assert_eq!(decode_ifname(""), None);
    }

    #[test]
    fn tmp_is_not_bpffs() {
        assert!(!on_bpffs(&std::env::temp_dir()).unwrap());
    }
}
