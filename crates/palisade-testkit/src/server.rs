//! What [`RedisServer`](crate::RedisServer) and [`MotoServer`](crate::MotoServer) share: a
//! child process serving on a loopback port, started on a free port, waited for until a probe
//! says it answers, and killed on stop.

use std::{
    io::Read as _,
    net::{Ipv4Addr, SocketAddr},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::{Error, free_port};

/// Attempts at finding a port that is still free when the server binds it.
const PORT_ATTEMPTS: u32 = 8;

/// How one kind of server is started and recognised as ready.
pub(crate) struct Kind {
    /// The program's name in messages (`redis-server`, `moto_server`).
    pub(crate) name: &'static str,
    /// What the probe waits for, in messages ("answer PING").
    pub(crate) ready_means: &'static str,
    /// Whether the server answers at an address.
    pub(crate) probe: fn(SocketAddr) -> bool,
    pub(crate) timeout: Duration,
    pub(crate) poll: Duration,
    /// How to install the program, appended when it cannot be run.
    pub(crate) install_hint: &'static str,
}

/// A server process on 127.0.0.1 (none while stopped).
#[derive(Debug)]
pub(crate) struct Served {
    child: Option<Child>,
    pub(crate) port: u16,
}

impl Served {
    /// Starts `command(port)` on a free port, trying another port when it does not come up.
    pub(crate) fn start(kind: &Kind, command: impl Fn(u16) -> Command) -> Result<Self, Error> {
        let mut served = Self {
            child: None,
            port: 0,
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            served.port = free_port().map_err(|e| Error(format!("finding a free port: {e}")))?;
            match served.spawn(kind, &mut command(served.port)) {
                Ok(()) => return Ok(served),
                Err(e) => last = e.0,
            }
        }
        Err(Error(format!(
            "no {} came up after {PORT_ATTEMPTS} ports; last error: {last}",
            kind.name
        )))
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the process, as a crash or an outage would.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `command` (already given this port) and waits until the probe answers, the
    /// process exits (its stderr in the error), or the timeout passes.
    pub(crate) fn spawn(&mut self, kind: &Kind, command: &mut Command) -> Result<(), Error> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error(format!(
                    "cannot run {}: {e}; {}",
                    command.get_program().to_string_lossy(),
                    kind.install_hint
                ))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + kind.timeout;
        loop {
            if (kind.probe)(self.addr()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                self.child = None;
                return Err(Error(format!(
                    "{} on port {} exited ({status}): {}",
                    kind.name,
                    self.port,
                    stderr.trim()
                )));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(Error(format!(
                    "{} on port {} did not {} within {:?}",
                    kind.name, self.port, kind.ready_means, kind.timeout
                )));
            }
            thread::sleep(kind.poll);
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}
