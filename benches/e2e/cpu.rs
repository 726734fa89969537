//! Where the CPU went during a run: the kernel's per-CPU accounting (/proc/stat, sampled at
//! each timer tick on this kernel: CONFIG_IRQ_TIME_ACCOUNTING is off), a process's own time
//! (/proc/<pid>/stat utime + stime), and BPF run statistics (BPF_ENABLE_STATS: run_time_ns
//! and run_cnt per program, measured around each program run).

use std::{
    os::fd::{AsFd as _, AsRawFd},
    time::Duration,
};

use anyhow::{Context as _, Result};

/// USER_HZ, the unit of /proc/stat and /proc/<pid>/stat.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// One /proc/stat "cpuN" line: user nice system idle iowait irq softirq steal, in seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    pub user: f64,
    pub system: f64,
    pub idle: f64,
    pub softirq: f64,
    pub irq: f64,
    pub steal: f64,
}

impl CpuTimes {
    pub fn busy(&self) -> f64 {
        self.user + self.system + self.softirq + self.irq
    }

    pub fn minus(&self, before: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - before.user,
            system: self.system - before.system,
            idle: self.idle - before.idle,
            softirq: self.softirq - before.softirq,
            irq: self.irq - before.irq,
            steal: self.steal - before.steal,
        }
    }
}

/// The "cpu" (all CPUs) line first, then each "cpuN" in order.
pub fn proc_stat() -> Result<Vec<CpuTimes>> {
    let text = std::fs::read_to_string("/proc/stat")?;
    let hz = ticks_per_second();
    Ok(text
        .lines()
        .filter(|l| l.starts_with("cpu"))
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .skip(1)
                .map(|x| x.parse::<f64>().unwrap_or(0.0) / hz)
                .collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
            CpuTimes {
                user: at(0) + at(1),
                system: at(2),
                idle: at(3) + at(4),
                irq: at(5),
                softirq: at(6),
                steal: at(7),
            }
        })
        .collect())
}

pub fn diff(after: &[CpuTimes], before: &[CpuTimes]) -> Vec<CpuTimes> {
    after.iter().zip(before).map(|(a, b)| a.minus(b)).collect()
}

/// utime + stime of a process (all its threads), seconds.
pub fn process_cpu(pid: u32) -> Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let rest = &text[text.rfind(')').context("stat format")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15.
    let utime: f64 = f.get(11).context("utime")?.parse()?;
    let stime: f64 = f.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / ticks_per_second())
}

/// VmRSS and VmHWM of a process, KiB.
pub fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// BPF run statistics stay on while this lives (the kernel counts while any such fd is open).
pub struct BpfStats(
    #[expect(dead_code, reason = "held for its lifetime only")] std::os::fd::OwnedFd,
);

impl BpfStats {
    pub fn enable() -> Result<BpfStats> {
        Ok(BpfStats(
            aya::sys::enable_stats(aya::sys::Stats::RunTime).context("BPF_ENABLE_STATS")?,
        ))
    }
}

/// kernel.bpf_stats_enabled: whether BPF run statistics are on machine-wide.
pub fn stats_sysctl() -> Option<bool> {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .ok()
        .map(|v| v.trim() != "0")
}

/// run_time and run_cnt of a loaded program, by id.
pub fn prog_stats(id: u32) -> Result<(Duration, u64)> {
    for info in aya::programs::loaded_programs() {
        let info = info?;
        if info.id() == id {
            return Ok((info.run_time(), info.run_count()));
        }
    }
    anyhow::bail!("no loaded program with id {id}")
}

/// What a loaded program and its maps hold: (program memlock, jited octets, verified
/// instructions, [(map name, memlock bytes)]).
pub struct ProgramMemory {
    pub program_memlock: u64,
    pub jited: u32,
    pub verified_insns: Option<u32>,
    pub maps: Vec<(String, u64)>,
}

pub fn program_memory(id: u32) -> Result<ProgramMemory> {
    let info = aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|p| p.id() == id)
        .with_context(|| format!("no loaded program with id {id}"))?;
    let mut maps = Vec::new();
    for map_id in info.map_ids()?.unwrap_or_default() {
        let m = aya::maps::MapInfo::from_id(map_id)?;
        let fd = m.fd()?;
        maps.push((
            m.name_as_str().unwrap_or("?").to_string(),
            fdinfo_field(fd.as_fd().as_raw_fd(), "memlock:").unwrap_or(0),
        ));
    }
    Ok(ProgramMemory {
        program_memlock: u64::from(info.memory_locked().unwrap_or(0)),
        jited: info.size_jitted(),
        verified_insns: info.verified_instruction_count(),
        maps,
    })
}

fn fdinfo_field(fd: i32, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    text.lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
