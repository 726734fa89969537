//! `lwm2m-xdp detach`: stop an instance and remove what it created, and nothing else.
//!
//! A running instance is asked through its control socket (`shutdown`): it detaches its own
//! links, removes its state and answers once that is done. An instance that is not running
//! (crashed, or never started) is never signalled: its XDP links died with its file
//! descriptors, and only the state file it left is removed.

use anyhow::Result;
use log::info;

use crate::{
    control::{self, CallError},
    instance,
};

pub fn detach(name: &str) -> Result<()> {
    match control::command(name, control::SHUTDOWN) {
        Ok(answer) => {
            info!("instance {name:?}: {}", answer.text);
            Ok(())
        }
        Err(CallError::NotRunning(..)) => {
            let stale = instance::state_path(name);
            if stale.exists() {
                instance::remove_state(name);
                eprintln!(
                    "lwm2m-xdp: instance {name:?} is not running; removed its stale {}",
                    stale.display()
                );
            } else {
                eprintln!("lwm2m-xdp: instance {name:?} is not running; nothing to remove");
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
