//! The state file kept ahead of the pins: with a pin dir, each pin (link, program, map) is named
//! in the instance's state file (pin name and kernel ID) before it is made, so a run
//! killed at any point (SIGKILL, the OOM killer) leaves a state from which `detach` removes
//! every link it pinned; a recorded pin that was never made is passed over by `detach`. The
//! maps' IDs come from the programs (`Datapath::map_ids`), so they too are recorded first.

use std::cell::RefCell;

use anyhow::{bail, Context as _, Result};

use super::{Daemon, RunOptions};
use crate::{
    datapath::Datapath,
    instance::{self, State},
    pins::{self, PinDir},
};

/// The state of the instance as its pins are made: what was written last, plus each new pin.
pub(super) struct Journal {
    instance: String,
    state: RefCell<State>,
}

impl Journal {
    /// A journal that starts from `state` (what the instance holds now).
    pub(super) fn new(instance: &str, state: State) -> Journal {
        Journal {
            instance: instance.to_string(),
            state: RefCell::new(state),
        }
    }

    /// Adds `pin` to the state file: called before the pin is made.
    pub(super) fn record(&self, pin: pins::Pin) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.pins.push(pin);
        instance::write_state(&self.instance, &state)
    }
}

/// Where `attach` pins links: the pin dir, and the journal that names each link first.
#[derive(Clone, Copy)]
pub(super) struct Pinning<'a> {
    pub(super) dir: &'a PinDir,
    pub(super) journal: &'a Journal,
}

impl<'a> Pinning<'a> {
    /// With a pin dir (and its journal), pinning in it; without, links are owned.
    pub(super) fn of(dir: Option<&'a PinDir>, journal: Option<&'a Journal>) -> Option<Pinning<'a>> {
        Some(Pinning {
            dir: dir?,
            journal: journal?,
        })
    }
}

/// Pins the program and the maps (bpffs refuses the object's `.rodata`/`.bss` names), each
/// replacing an earlier run's pin of the same name; records them, and the marker (made with
/// the directory), in the journal and in `made` as they are made (so a failure part-way
/// still knows what to remove).
pub(super) fn pin_objects(
    dp: &mut Datapath,
    pinning: Pinning,
    made: &mut Vec<pins::Pin>,
) -> Result<()> {
    let pins = pinning.dir;
    let mut record = |pin: pins::Pin| -> Result<()> {
        pinning.journal.record(pin.clone())?;
        made.push(pin);
        Ok(())
    };
    record(pins.owner_pin()?)?;
    pins.remove(pins::PROGRAM)?;
    record(pins::Pin {
        name: pins::PROGRAM.to_string(),
        kind: pins::Kind::Program,
        id: dp.program().info()?.id(),
    })?;
    let path = pins.join(pins::PROGRAM);
    dp.program()
        .pin(&path)
        .with_context(|| format!("pinning the program at {}", path.display()))?;
    let ids = dp.map_ids()?;
    for (name, map) in dp.ebpf().maps() {
        if name.starts_with('.') {
            continue;
        }
        pins.remove(name)?;
        let path = pins.join(name);
        let pin = |id| pins::Pin {
            name: name.to_string(),
            kind: pins::Kind::Map,
            id,
        };
        // A map no program uses has no ID here: recorded once pinned.
        let known = ids.get(kernel_name(name)).copied();
        if let Some(id) = known {
            record(pin(id))?;
        }
        map.pin(&path)
            .with_context(|| format!("pinning {name} at {}", path.display()))?;
        if known.is_none() {
            record(pin(pins.id(name, pins::Kind::Map)?))?;
        }
    }
    Ok(())
}

/// The name the kernel keeps of an object's map: at most BPF_OBJ_NAME_LEN - 1 octets.
fn kernel_name(name: &str) -> &str {
    const KEPT: usize = 15;
    name.get(..KEPT).unwrap_or(name)
}

/// A state file is left only by a run that did not stop (the lock keeps a second run out):
/// one whose pins are still there, in another directory than this run's (or with this run
/// pinning nothing), would be forgotten once this run rewrites the state. Refused instead,
/// with the way out.
pub(super) fn refuse_left_pins(opts: &RunOptions, earlier: Option<&State>) -> Result<()> {
    let Some(left) = earlier.and_then(|s| s.pin_dir.as_deref()) else {
        return Ok(());
    };
    if opts.pin_dir.as_deref() == Some(left) || !left.exists() {
        return Ok(());
    }
    let name = &opts.instance;
    bail!(
        "instance {name:?} left pins in {} (a run that did not stop; its state file says so), and this run would forget them: `lwm2m-xdp detach --instance {name}` removes them, or run again with --pin-dir {} to take them over",
        left.display(),
        left.display()
    )
}

impl Daemon {
    /// Claims the pin dir (pins.rs). One that this run makes is named in the state first
    /// (journal.rs): a state with the directory and no pins is what `detach` needs to remove
    /// the directory and its marker. An existing one keeps the earlier run's state until the
    /// journal rewrites it.
    pub(super) fn claim_pin_dir(&mut self) -> Result<()> {
        let Some(dir) = self.opts.pin_dir.clone() else {
            return Ok(());
        };
        let fresh = std::fs::symlink_metadata(&dir).is_err();
        if fresh {
            self.write_state()?;
        }
        match PinDir::claim(&dir, &self.opts.instance) {
            Ok(pins) => {
                self.pins = Some(pins);
                Ok(())
            }
            Err(e) => {
                if fresh {
                    instance::remove_state(&self.opts.instance);
                }
                Err(e)
            }
        }
    }
}
