//! `lwm2m-xdp detach`: stop an instance and remove what it created, and nothing else.
//!
//! A running instance is asked through its control socket (`shutdown`): it detaches its own
//! links, removes its pins and state and answers once that is done. An instance that is not
//! running (crashed, or never started) is never signalled. Without a pin dir its links died
//! with its file descriptors; with one, its pinned links keep the fast path up, and they are
//! removed here: the pin dir comes from the state file (its marker checked), and each pin the
//! state recorded is removed only while it still holds the kernel object (ID) recorded.

use std::os::fd::AsFd as _;

use anyhow::Result;
use log::info;

use crate::{
    control::{self, CallError},
    instance::{self, State},
    pins::{self, PinDir},
};

pub fn detach(name: &str) -> Result<()> {
    match control::command(name, control::SHUTDOWN) {
        Ok(answer) => {
            info!("instance {name:?}: {}", answer.text);
            Ok(())
        }
        Err(CallError::NotRunning(..)) => {
            // Held while cleaning up, so no `run` of the instance starts meanwhile; its file
            // goes when it is dropped.
            let _lock = instance::lock(name)?;
            let socket = instance::socket_path(name);
            if std::fs::remove_file(&socket).is_ok() {
                eprintln!("lwm2m-xdp: removed the stale {}", socket.display());
            }
            let stale = instance::state_path(name);
            if !stale.exists() {
                instance::remove_state(name);
                eprintln!("lwm2m-xdp: instance {name:?} is not running; nothing else to remove");
                return Ok(());
            }
            // A state file we cannot read names nothing we could remove safely but itself.
            if let Ok(state) = instance::read_state(name) {
                remove_pins(name, &state)?;
            }
            instance::remove_state(name);
            eprintln!(
                "lwm2m-xdp: instance {name:?} is not running; removed its stale {}",
                stale.display()
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the pins `state` recorded in its pin dir, then the marker and the directory. A pin
/// that now holds another object, and anything not recorded, is left and named.
fn remove_pins(name: &str, state: &State) -> Result<()> {
    let Some(dir) = &state.pin_dir else {
        return Ok(());
    };
    if !dir.exists() {
        eprintln!(
            "lwm2m-xdp: instance {name:?}: its pin dir {} is gone already",
            dir.display()
        );
        return Ok(());
    }
    // Made but not yet marked (killed in between): empty, and named by this state.
    if std::fs::remove_dir(dir).is_ok() {
        eprintln!("lwm2m-xdp: removed the empty {}", dir.display());
        return Ok(());
    }
    let pins = PinDir::open(dir, name)?;
    // Links first: unpinning the last link detaches the program from its interface.
    let mut order: Vec<&pins::Pin> = state
        .pins
        .iter()
        .filter(|p| p.kind != pins::Kind::Owner)
        .collect();
    order.sort_by_key(|p| p.kind != pins::Kind::Link);
    for pin in order {
        let shown = pins.join(&pin.name);
        match pins.id(&pin.name, pin.kind) {
            Ok(id) if id == pin.id => {
                if pin.kind == pins::Kind::Link {
                    pins.remove_link(&pin.name, pins::open_pin(&shown)?.as_fd())?;
                } else {
                    pins.remove(&pin.name)?;
                }
                eprintln!(
                    "lwm2m-xdp: removed {} ({:?} {id})",
                    shown.display(),
                    pin.kind
                );
            }
            Ok(id) => eprintln!(
                "lwm2m-xdp: left {}: it holds {:?} {id}, not {} that instance {name:?} pinned",
                shown.display(),
                pin.kind,
                pin.id
            ),
            // Never pinned, or removed already.
            Err(_) if !shown.exists() => {}
            Err(e) => eprintln!("lwm2m-xdp: left {}: {e:#}", shown.display()),
        }
    }
    pins.close()?;
    eprintln!("lwm2m-xdp: removed {}", dir.display());
    Ok(())
}
