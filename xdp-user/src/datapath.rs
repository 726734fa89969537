//! The kernel program and its maps, loaded: what the loader, the tests and the benchmarks
//! drive. Knows map names and layouts (xdp-common), not the config or the wire formats.

use crate::compile::Compiled;
use anyhow::{bail, Context as _, Result};
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray},
    programs::{SchedClassifier, Xdp},
    Ebpf, EbpfLoader,
};
use xdp_common::{
    counters::COUNTERS_LEN,
    maps::{
        block_index, Family, IfaceConfig, IfaceKey, IfaceSlotKey, OptionBlock, SlotConfig,
        MAP_ACTIVE, MAP_BLOCKS, MAP_COUNTERS, MAP_IFACES, MAP_SLOTS, MASKS_PER_FAMILY, MAX_IFACES,
        PROGRAM_NAME, TC_PROGRAM_NAME,
    },
};

/// The kernel object, compiled by build.rs from xdp-ebpf.
pub static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lwm2m-xdp-ebpf"));

/// One config generation, ready to be written to the maps: the policy, the blocks and the
/// interface entries (addresses, DUID) the replies of this config come from.
pub struct Generation {
    pub slot: SlotConfig,
    /// Blocks for every mask, per family (index = mask).
    pub blocks: [Vec<OptionBlock>; 2],
    pub ifaces: Vec<(IfaceKey, IfaceConfig)>,
}

impl Generation {
    pub fn new(compiled: &Compiled, ifaces: Vec<(IfaceKey, IfaceConfig)>) -> Self {
        Generation {
            slot: compiled.slot,
            blocks: [compiled.blocks(Family::V4), compiled.blocks(Family::V6)],
            ifaces,
        }
    }
}

pub struct Datapath {
    ebpf: Ebpf,
}

impl Datapath {
    /// Load the object, the XDP program and the TC fallback into the kernel (runs the
    /// verifier on both).
    pub fn load() -> Result<Self> {
        let mut ebpf = EbpfLoader::new()
            .load(EBPF_OBJECT)
            .context("loading the BPF object (needs root or CAP_BPF)")?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .context("no XDP program in the object")?
            .try_into()?;
        program
            .load()
            .context("the kernel rejected the XDP program")?;
        let tc: &mut SchedClassifier = ebpf
            .program_mut(TC_PROGRAM_NAME)
            .context("no TC classifier in the object")?
            .try_into()?;
        tc.load()
            .context("the kernel rejected the TC fallback classifier")?;
        Ok(Datapath { ebpf })
    }

    pub fn program(&mut self) -> &mut Xdp {
        self.ebpf
            .program_mut(PROGRAM_NAME)
            .and_then(|p| p.try_into().ok())
            .expect("loaded in Datapath::load")
    }

    /// The TC fallback (`lwm2m_tc`), loaded with the XDP program.
    pub fn tc_program(&mut self) -> &mut SchedClassifier {
        self.ebpf
            .program_mut(TC_PROGRAM_NAME)
            .and_then(|p| p.try_into().ok())
            .expect("loaded in Datapath::load")
    }

    pub fn ebpf(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }

    /// The kernel IDs of the maps the two programs use, by the name the kernel keeps (the
    /// object's name cut to 15 octets): known before a map is pinned, where aya gives a
    /// `Map`'s ID only through a pin.
    pub fn map_ids(&mut self) -> Result<std::collections::HashMap<String, u32>> {
        let mut ids = self.program().info()?.map_ids()?.unwrap_or_default();
        ids.extend(self.tc_program().info()?.map_ids()?.unwrap_or_default());
        let mut named = std::collections::HashMap::new();
        for id in ids {
            let info = aya::maps::MapInfo::from_id(id)?;
            if let Some(name) = info.name_as_str() {
                named.insert(name.to_string(), id);
            }
        }
        Ok(named)
    }

    fn map_mut(&mut self, name: &str) -> Result<&mut aya::maps::Map> {
        self.ebpf
            .map_mut(name)
            .with_context(|| format!("map {name} missing from the object"))
    }

    /// The generation in force (0 or 1).
    pub fn active_slot(&mut self) -> Result<u32> {
        let active: Array<_, u32> = Array::try_from(self.map_mut(MAP_ACTIVE)?)?;
        Ok(active.get(&0, 0)? & 1)
    }

    /// Install `generation`: write all of it into the slot not in force, make that slot the
    /// one in force with a single 4-byte write of `ACTIVE`, then remove the old slot's
    /// interface entries. A request sees the old generation or the new one, never a mix:
    /// the kernel reads `ACTIVE` once and everything else from that slot. Returns the slot.
    pub fn install_generation(&mut self, generation: &Generation) -> Result<u32> {
        let old = self.active_slot()?;
        let slot = 1 - old;
        self.write_generation(slot, generation)?;
        self.activate(slot)?;
        self.remove_interfaces(old)?;
        Ok(slot)
    }

    /// Write `generation` into `slot` (which must not be in force): interface entries,
    /// blocks, policy. The slot's interface table becomes exactly `generation.ifaces`.
    pub fn write_generation(&mut self, slot: u32, generation: &Generation) -> Result<()> {
        if generation.ifaces.len() > MAX_IFACES as usize {
            bail!(
                "{} interface entries, at most {MAX_IFACES} fit",
                generation.ifaces.len()
            );
        }
        self.remove_interfaces(slot)?;
        {
            let mut ifaces: HashMap<_, IfaceSlotKey, IfaceConfig> =
                HashMap::try_from(self.map_mut(MAP_IFACES)?)?;
            for (iface, value) in &generation.ifaces {
                let key = IfaceSlotKey {
                    slot,
                    iface: *iface,
                };
                ifaces.insert(key, value, 0)?;
            }
        }
        {
            let mut blocks: Array<_, OptionBlock> = Array::try_from(self.map_mut(MAP_BLOCKS)?)?;
            for (family, list) in [Family::V4, Family::V6].into_iter().zip(&generation.blocks) {
                if list.len() != MASKS_PER_FAMILY as usize {
                    bail!(
                        "{} blocks for {family:?}, expected {MASKS_PER_FAMILY}",
                        list.len()
                    );
                }
                for (mask, block) in list.iter().enumerate() {
                    blocks.set(block_index(slot, family, mask as u32), block, 0)?;
                }
            }
        }
        let mut slots: Array<_, SlotConfig> = Array::try_from(self.map_mut(MAP_SLOTS)?)?;
        slots.set(slot, generation.slot, 0)?;
        Ok(())
    }

    /// Put `slot` in force (one 4-byte map write).
    pub fn activate(&mut self, slot: u32) -> Result<()> {
        let mut active: Array<_, u32> = Array::try_from(self.map_mut(MAP_ACTIVE)?)?;
        active.set(0, slot & 1, 0)?;
        Ok(())
    }

    /// Remove every interface entry of `slot`.
    pub fn remove_interfaces(&mut self, slot: u32) -> Result<()> {
        let mut ifaces: HashMap<_, IfaceSlotKey, IfaceConfig> =
            HashMap::try_from(self.map_mut(MAP_IFACES)?)?;
        let stale: Vec<IfaceSlotKey> = ifaces
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| k.slot == slot)
            .collect();
        for key in stale {
            ifaces.remove(&key)?;
        }
        Ok(())
    }

    /// The interface entries of `slot`.
    pub fn interfaces(&mut self, slot: u32) -> Result<Vec<(IfaceKey, IfaceConfig)>> {
        let ifaces: HashMap<_, IfaceSlotKey, IfaceConfig> =
            HashMap::try_from(self.map_mut(MAP_IFACES)?)?;
        Ok(ifaces
            .iter()
            .filter_map(|e| e.ok())
            .filter(|(k, _)| k.slot == slot)
            .map(|(k, v)| (k.iface, v))
            .collect())
    }

    /// Counters summed over CPUs, indexed as xdp_common::counters says.
    pub fn counters(&mut self) -> Result<Vec<u64>> {
        read_counters(self.map_mut(MAP_COUNTERS)?)
    }
}

/// Sum the per-CPU counters of a COUNTERS map (ours, or one opened from its pin).
pub fn read_counters(map: &mut aya::maps::Map) -> Result<Vec<u64>> {
    let counters: PerCpuArray<&mut MapData, u64> = PerCpuArray::try_from(map)?;
    sum_counters(&counters)
}

/// The counters summed over CPUs, with those the kernel leaves to the reader filled in
/// (`counters::derive`): every reader of COUNTERS goes through here.
pub fn sum_counters<T: std::borrow::Borrow<MapData>>(
    counters: &PerCpuArray<T, u64>,
) -> Result<Vec<u64>> {
    let mut summed = (0..COUNTERS_LEN)
        .map(|i| Ok(counters.get(&i, 0)?.iter().sum()))
        .collect::<Result<Vec<u64>>>()?;
    xdp_common::counters::derive(&mut summed);
    Ok(summed)
}
