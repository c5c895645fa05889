//! A TCP proxy between hilo and a real server, for fault injection: it
//! passes bytes through, refuses connections, accepts and then never
//! answers, slows the server's answers, or cuts a connection after some
//! bytes from the server, or hides a word in what the server says. It
//! counts the connections it was asked for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass bytes both ways.
    Pass,
    /// Accept and close at once (like a refused connection, for a client).
    Refuse,
    /// Accept and never answer (a server that hangs after TCP).
    Hang,
    /// Pass, but hold each chunk from the server this long.
    Slow(Duration),
    /// Pass, then cut the connection once the server sent this many bytes.
    CutAfter(usize),
    /// Pass, but overwrite this word in what the server says (with `X`s of
    /// the same length): a server that does not offer an extension.
    Hide(&'static str),
}

pub struct Proxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target` there.
    pub async fn start(target: u16, fault: Fault) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let fault = Arc::new(Mutex::new(fault));
        let connections = Arc::new(AtomicUsize::new(0));
        let (f, n) = (fault.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                n.fetch_add(1, Ordering::SeqCst);
                let mode = *f.lock().unwrap();
                tokio::spawn(serve(client, target, mode));
            }
        });
        Proxy {
            port,
            fault,
            connections,
            task,
        }
    }

    /// Applies to connections opened from now on.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut client: TcpStream, target: u16, mode: Fault) {
    match mode {
        Fault::Refuse => drop(client),
        Fault::Hang => {
            // Hold the socket open, read and discard, never answer.
            let mut buf = [0u8; 4096];
            while let Ok(n) = client.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Fault::Pass | Fault::Slow(_) | Fault::CutAfter(_) | Fault::Hide(_) => {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                return;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let up = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
                let _ = sw.shutdown().await;
            });
            let mut sent = 0usize;
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match sr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if let Fault::Hide(word) = mode {
                    let w = word.as_bytes();
                    let mut i = 0;
                    while i + w.len() <= n {
                        if &buf[i..i + w.len()] == w {
                            buf[i..i + w.len()].fill(b'X');
                            i += w.len();
                        } else {
                            i += 1;
                        }
                    }
                }
                let mut chunk = &buf[..n];
                if let Fault::Slow(d) = mode {
                    tokio::time::sleep(d).await;
                }
                if let Fault::CutAfter(limit) = mode {
                    if sent + chunk.len() > limit {
                        chunk = &chunk[..limit - sent];
                        let _ = cw.write_all(chunk).await;
                        break;
                    }
                }
                if cw.write_all(chunk).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            up.abort();
        }
    }
}
