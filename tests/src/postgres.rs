//! A throwaway PostgreSQL cluster for tests that need one of their own: `initdb` and `pg_ctl`
//! from Debian's `postgresql` package, on a random loopback port, removed when dropped. Under
//! root the cluster belongs to the `postgres` user (PostgreSQL refuses to run as root).

use std::path::PathBuf;
use std::process::Command;

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    /// `host=127.0.0.1 port=… user=postgres`: add `dbname=…`.
    pub conninfo: String,
}

impl PgCluster {
    /// Starts a cluster (about a second and a half here).
    pub fn start() -> PgCluster {
        Self::start_with(|_| String::new())
    }

    /// Starts a cluster that also speaks TLS, with a certificate for `localhost` and
    /// `127.0.0.1` signed by a CA of its own; returns it and the CA's PEM file.
    pub fn start_with_tls() -> (PgCluster, PathBuf) {
        let mut ca_file = PathBuf::new();
        let cluster = Self::start_with(|dir| {
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca_params.distinguished_name.push(rcgen::DnType::CommonName, "OnSite test CA");
            let ca = ca_params.self_signed(&ca_key).unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
            let cert = params.signed_by(&key, &rcgen::Issuer::new(ca_params, &ca_key)).unwrap();
            ca_file = dir.join("ca.pem");
            std::fs::write(&ca_file, ca.pem()).unwrap();
            std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
            // PostgreSQL refuses a key others can read, and must own it.
            let key_file = dir.join("server.key");
            std::fs::write(&key_file, key.serialize_pem()).unwrap();
            std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if let Some(uid) = postgres_uid() {
                std::os::unix::fs::chown(&key_file, Some(uid), None).unwrap();
                std::os::unix::fs::chown(dir.join("server.crt"), Some(uid), None).unwrap();
            }
            format!(" -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key", dir.display())
        });
        (cluster, ca_file)
    }

    /// Starts a cluster with the server options `extra` adds (given the cluster's folder).
    fn start_with(extra: impl FnOnce(&std::path::Path) -> String) -> PgCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server is installed (scripts/test.sh installs it: ensure_postgres)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        if as_postgres {
            std::os::unix::fs::chown(dir.path(), postgres_uid(), None).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = PgCluster { conninfo: format!("host=127.0.0.1 port={port} user=postgres"), dir, bin, as_postgres };
        let data = cluster.dir.path().join("data");
        cluster.run("initdb", &["-D", data.to_str().unwrap(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        let extra = extra(cluster.dir.path());
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{extra}", cluster.dir.path().display());
        let log = cluster.dir.path().join("log");
        cluster.run("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "-o", &options, "start"]);
        cluster
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap_or_else(|e| panic!("{} runs: {e}", exe.display()));
        assert!(out.status.success(), "{tool} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// Makes database `name` and returns its connection string.
    pub async fn database(&self, name: &str) -> String {
        let (client, connection) =
            tokio_postgres::connect(&format!("{} dbname=postgres", self.conninfo), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        format!("{} dbname={name}", self.conninfo)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        };
    }
}

/// The `postgres` user's id, when running as root (the cluster's files must be theirs).
fn postgres_uid() -> Option<u32> {
    if !is_root() {
        return None;
    }
    let uid = Command::new("id").args(["-u", "postgres"]).output().unwrap();
    Some(String::from_utf8_lossy(&uid.stdout).trim().parse().expect("the postgres user exists"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
