//! A TCP proxy in front of PostgreSQL that a test can stop and start, as if the server were stopped: while it
//! is down, open connections are cut and new ones are closed at once.
#![allow(dead_code)]

use std::net::SocketAddr;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct DbProxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    accepting: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    /// A proxy to the server of `database_url` (`postgres://user@host:port/name`).
    pub async fn start(database_url: &str) -> DbProxy {
        let target = server_of(database_url);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let (up, _) = watch::channel(true);
        let watching = up.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut up = watching.subscribe();
                if !*up.borrow() {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        DbProxy {
            addr,
            up,
            accepting,
        }
    }

    /// `database_url` with the proxy in place of the server.
    pub fn url(&self, database_url: &str) -> String {
        database_url.replacen(written_server(database_url), &self.addr.to_string(), 1)
    }

    /// The server goes away: connections are cut and refused until [`DbProxy::resume`].
    pub fn stop(&self) {
        self.up.send_replace(false);
    }

    pub fn resume(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.stop();
        self.accepting.abort();
    }
}

/// The server as written in a `postgres://user@host[:port]/name` URL.
fn written_server(database_url: &str) -> &str {
    let after_scheme = database_url
        .split_once("://")
        .map_or(database_url, |(_, rest)| rest);
    let after_user = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, rest)| rest);
    after_user.split(['/', '?']).next().unwrap_or(after_user)
}

/// `host:port` of the server of a PostgreSQL URL.
fn server_of(database_url: &str) -> String {
    let server = written_server(database_url);
    if server.contains(':') {
        server.to_owned()
    } else {
        format!("{server}:5432")
    }
}
