//! The control socket of a running instance (/run/lwm2m-xdp/NAME.sock, mode 0660): one JSON
//! command per connection in Kea's shape, `{"command": "config-reload"}` ->
//! `{"result": 0, "text": "...", "arguments": {...}}` (result 1: the command failed).
//!
//! The daemon's side ([`Server`]) only reads and answers; what a command does is decided by the
//! run loop that owns the datapath, which receives each [`Request`] with a channel to answer on.
//! The client side ([`call`]) is what `reload`, `status`, `stats` and `detach` use: reaching
//! the socket is the proof that the instance runs (only the process holding the instance lock
//! binds it), so no command ever signals a pid.

use std::{
    io::{Read as _, Write as _},
    os::unix::{fs::PermissionsExt as _, net::UnixStream},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use log::{debug, warn};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{UnixListener, UnixStream as AsyncUnixStream},
    sync::{mpsc, oneshot},
};

/// The commands a running instance answers.
pub const CONFIG_RELOAD: &str = "config-reload";
pub const STATUS: &str = "status";
pub const STATISTICS: &str = "statistics";
pub const SHUTDOWN: &str = "shutdown";
pub const COMMANDS: [&str; 4] = [CONFIG_RELOAD, STATUS, STATISTICS, SHUTDOWN];

/// Result codes (Kea's): 0 success, 1 error.
pub const RESULT_OK: i64 = 0;
pub const RESULT_ERROR: i64 = 1;

/// A request larger than this is refused: commands are a few dozen octets.
const MAX_REQUEST: usize = 64 * 1024;
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client waits for an answer: a reload compiles and attaches.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub result: i64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

impl Answer {
    pub fn ok(text: impl Into<String>, arguments: Option<Value>) -> Answer {
        Answer {
            result: RESULT_OK,
            text: text.into(),
            arguments,
        }
    }

    pub fn error(text: impl Into<String>) -> Answer {
        Answer {
            result: RESULT_ERROR,
            text: text.into(),
            arguments: None,
        }
    }
}

/// One command from a client, and where its answer goes.
pub struct Request {
    pub command: Command,
    pub reply: oneshot::Sender<Answer>,
}

/// Parses a complete request; `None` while more octets may complete it.
fn parse_request(bytes: &[u8]) -> Option<Result<Command, String>> {
    match serde_json::from_slice::<Command>(bytes) {
        Ok(command) => Some(Ok(command)),
        Err(e) if e.is_eof() => None,
        Err(e) => Some(Err(format!(
            "not a command ({e}); expected {{\"command\": one of {COMMANDS:?}}}"
        ))),
    }
}

/// The listening socket; removed from the file system on drop.
pub struct Server {
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
    /// Closed (`recv` gives `None`) once every connection task has ended: each holds a
    /// sender it never uses.
    connections: mpsc::Receiver<()>,
}

impl Server {
    /// Binds `path` (a stale socket file there is replaced: the caller holds the instance
    /// lock, so nobody else serves it), mode 0660, and serves it on the current tokio
    /// runtime: every well-formed command goes to `requests`.
    pub fn bind(path: &Path, requests: mpsc::Sender<Request>) -> Result<Server> {
        match std::fs::remove_file(path) {
            Ok(()) => debug!("replaced a stale {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
        let listener =
            UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .with_context(|| format!("chmod 0660 {}", path.display()))?;
        let (alive, connections) = mpsc::channel::<()>(1);
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let (requests, alive) = (requests.clone(), alive.clone());
                        tokio::spawn(async move {
                            serve_connection(stream, requests).await;
                            drop(alive);
                        });
                    }
                    Err(e) => {
                        warn!("control socket: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Server {
            path: path.to_path_buf(),
            accept,
            connections,
        })
    }

    /// Stops accepting, removes the socket file, and lets the connections still open write
    /// their answers (for at most [`REQUEST_TIMEOUT`]).
    pub async fn close(&mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
        let _ = std::fs::remove_file(&self.path);
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, self.connections.recv()).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_connection(mut stream: AsyncUnixStream, requests: mpsc::Sender<Request>) {
    let answer = match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await {
        Err(_) => Answer::error(format!("no complete command within {REQUEST_TIMEOUT:?}")),
        Ok(Err(text)) => Answer::error(text),
        Ok(Ok(command)) => {
            let (reply, answer) = oneshot::channel();
            if requests.send(Request { command, reply }).await.is_err() {
                Answer::error("the instance is shutting down")
            } else {
                answer
                    .await
                    .unwrap_or_else(|_| Answer::error("the instance is shutting down"))
            }
        }
    };
    let mut bytes = serde_json::to_vec(&answer).expect("an answer serializes");
    bytes.push(b'\n');
    if let Err(e) = stream.write_all(&bytes).await {
        debug!("control socket: client left before the answer: {e}");
    }
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut AsyncUnixStream) -> Result<Command, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading the command: {e}"))?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(parsed) = parse_request(&buf) {
            return parsed;
        }
        if n == 0 {
            return Err("the command ended before it was complete JSON".into());
        }
        if buf.len() > MAX_REQUEST {
            return Err(format!("a command longer than {MAX_REQUEST} octets"));
        }
    }
}

/// Why a client could not talk to an instance.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing listens on the socket: no process holds the instance.
    #[error("instance {0:?} is not running (no one serves {1})")]
    NotRunning(String, String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Sends `command` to instance `name` over its socket at `path` and returns the answer
/// (whatever its result code).
pub fn call(name: &str, path: &Path, command: &Command) -> Result<Answer, CallError> {
    let mut stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(CallError::NotRunning(
                name.to_string(),
                path.display().to_string(),
            ))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("connecting to {}", path.display()))
                .into())
        }
    };
    let mut exchange = || -> Result<Answer> {
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.write_all(&serde_json::to_vec(command)?)?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        if bytes.is_empty() {
            bail!("the instance closed the connection without an answer");
        }
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "not an answer: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })
    };
    exchange()
        .with_context(|| {
            format!(
                "{:?} to instance {name:?} ({})",
                command.command,
                path.display()
            )
        })
        .map_err(CallError::Other)
}

/// [`call`] on instance `name`'s socket under /run/lwm2m-xdp; an answer with result 1 is
/// an error carrying its text.
pub fn command(name: &str, command: &str) -> Result<Answer, CallError> {
    let answer = call(
        name,
        &crate::instance::socket_path(name),
        &Command {
            command: command.to_string(),
            arguments: None,
        },
    )?;
    if answer.result != RESULT_OK {
        return Err(CallError::Other(anyhow::anyhow!("{}", answer.text)));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_when_complete_and_name_the_commands_when_not_json() {
        assert_eq!(parse_request(br#"{"command": "sta"#), None);
        assert_eq!(
            parse_request(br#"{"command": "status"}"#),
            Some(Ok(Command {
                command: STATUS.into(),
                arguments: None
            }))
        );
        let Some(Err(text)) = parse_request(b"reload please") else {
            panic!("plain text must be refused");
        };
        assert!(text.contains("config-reload"), "{text}");
    }

    #[test]
    fn answers_have_keas_shape() {
        let json = serde_json::to_value(Answer::error("boom")).unwrap();
        assert_eq!(json, serde_json::json!({"result": 1, "text": "boom"}));
        let ok = Answer::ok("fine", Some(serde_json::json!({"pid": 1})));
        assert_eq!(
            serde_json::to_value(ok).unwrap(),
            serde_json::json!({"result": 0, "text": "fine", "arguments": {"pid": 1}})
        );
    }

    #[test]
    fn a_command_round_trips_through_a_socket() {
        let dir = std::env::temp_dir().join(format!("lwm2m-xdp-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sock");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::channel::<Request>(4);
        let server = runtime.block_on(async { Server::bind(&path, tx).unwrap() });
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let client_path = path.clone();
        let client = std::thread::spawn(move || {
            call(
                "t",
                &client_path,
                &Command {
                    command: STATUS.into(),
                    arguments: None,
                },
            )
            .unwrap()
        });
        runtime.block_on(async {
            let request = rx.recv().await.unwrap();
            assert_eq!(request.command.command, STATUS);
            request
                .reply
                .send(Answer::ok("up", Some(serde_json::json!({"pid": 7}))))
                .unwrap();
            // Keep the runtime turning until the connection task has written the answer.
            let answer = tokio::task::spawn_blocking(move || client.join().unwrap())
                .await
                .unwrap();
            assert_eq!(answer.result, RESULT_OK);
            assert_eq!(answer.arguments.unwrap()["pid"], 7);
        });
        drop(server);
        assert!(!path.exists(), "the socket file stays after the server");
        assert!(matches!(
            call(
                "t",
                &path,
                &Command {
                    command: STATUS.into(),
                    arguments: None
                }
            ),
            Err(CallError::NotRunning(..))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
