//! Which node of a cluster each socket of `loadgen messages` talks to, and where it goes
//! when its node dies.
//!
//! A cluster run puts visitors on some nodes and agents on others (`--visitor-nodes`,
//! `--agent-nodes`), so a message crosses NATS between the node that stored it and the
//! node that delivers it. Every socket knows the whole list: when its node goes away it
//! reconnects to another one, with its cursor, and the run checks that nothing was lost or
//! delivered twice. Clients of a dead node spread over all the others (not all onto the
//! next one), as a real load balancer would spread them.

use crate::error::{Error, Result};
use crate::target::Target;

/// Nodes one run may name: each message records the node it was sent through in a byte.
pub const MAX_NODES: usize = 64;

/// The nodes of a run and where each kind of socket starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Every node named by `--url`, `--visitor-nodes` and `--agent-nodes`, without
    /// duplicates: the failover list of every socket.
    pub nodes: Vec<Target>,
    /// Indices into `nodes` of the visitors' home nodes.
    visitor_homes: Vec<usize>,
    /// Indices into `nodes` of the agents' home nodes.
    agent_homes: Vec<usize>,
}

impl Cluster {
    /// `url` is the node the setup talks to (REST); `visitor_nodes` and `agent_nodes` are
    /// comma-separated base URLs (each defaulting to `url`). Every URL must be a loopback
    /// `http://` base URL.
    pub fn parse(
        url: &Target,
        visitor_nodes: Option<&str>,
        agent_nodes: Option<&str>,
    ) -> Result<Self> {
        let mut nodes = vec![url.clone()];
        let mut homes = |list: Option<&str>, flag: &str| -> Result<Vec<usize>> {
            let Some(list) = list else { return Ok(vec![0]) };
            let mut out = Vec::new();
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let t = Target::parse(part).map_err(|e| Error::usage(format!("{flag}: {e}")))?;
                let i = match nodes.iter().position(|n| n.addr == t.addr) {
                    Some(i) => i,
                    None => {
                        nodes.push(t);
                        nodes.len() - 1
                    }
                };
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            if out.is_empty() {
                return Err(Error::usage(format!("{flag}: no node given")));
            }
            Ok(out)
        };
        let visitor_homes = homes(visitor_nodes, "--visitor-nodes")?;
        let agent_homes = homes(agent_nodes, "--agent-nodes")?;
        if nodes.len() > MAX_NODES {
            return Err(Error::usage(format!(
                "--url, --visitor-nodes and --agent-nodes name {} nodes; a run talks to at most \
                 {MAX_NODES}",
                nodes.len()
            )));
        }
        Ok(Cluster {
            nodes,
            visitor_homes,
            agent_homes,
        })
    }

    /// Visitor `i` starts on its nodes round-robin.
    pub fn visitor_home(&self, i: usize) -> usize {
        self.visitor_homes[i % self.visitor_homes.len()]
    }

    /// Agent `j` starts on its nodes round-robin.
    pub fn agent_home(&self, j: usize) -> usize {
        self.agent_homes[j % self.agent_homes.len()]
    }

    /// Where client `client` goes after losing node `current`, on its `attempt`-th try
    /// (0 first): never `current` itself while there is another node, spread over the
    /// others by client, and each further attempt to the next of them. A one-node run
    /// reconnects to its only node.
    pub fn failover(&self, current: usize, client: usize, attempt: u32) -> usize {
        let n = self.nodes.len();
        if n <= 1 {
            return 0;
        }
        let others = n - 1;
        let step = 1 + (client + attempt as usize) % others;
        (current + step) % n
    }

    /// More than one node: the report splits delivery latency by same node and across
    /// nodes.
    pub fn is_multi(&self) -> bool {
        self.nodes.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(u: &str) -> Target {
        Target::parse(u).unwrap()
    }

    #[test]
    fn one_node_by_default() {
        let c = Cluster::parse(&t("http://127.0.0.1:8080"), None, None).unwrap();
        assert_eq!(c.nodes.len(), 1);
        assert!(!c.is_multi());
        assert_eq!((c.visitor_home(7), c.agent_home(3)), (0, 0));
        // A one-node run reconnects where it was.
        assert_eq!(c.failover(0, 5, 3), 0);
    }

    #[test]
    fn visitors_and_agents_on_their_own_nodes() {
        let c = Cluster::parse(
            &t("http://127.0.0.1:18081"),
            Some("http://127.0.0.1:18081, http://127.0.0.1:18082,http://127.0.0.1:18081"),
            Some("http://127.0.0.1:18084,http://127.0.0.1:18085"),
        )
        .unwrap();
        let ports: Vec<u16> = c.nodes.iter().map(|n| n.addr.port()).collect();
        assert_eq!(
            ports,
            [18081, 18082, 18084, 18085],
            "union without duplicates"
        );
        let v: Vec<usize> = (0..4).map(|i| c.visitor_home(i)).collect();
        assert_eq!(v, [0, 1, 0, 1]);
        let a: Vec<usize> = (0..3).map(|j| c.agent_home(j)).collect();
        assert_eq!(a, [2, 3, 2]);
        assert!(c.is_multi());
    }

    #[test]
    fn failover_never_picks_the_dead_node_and_spreads_its_clients() {
        let c = Cluster::parse(
            &t("http://127.0.0.1:18081"),
            Some("http://127.0.0.1:18081,http://127.0.0.1:18082,http://127.0.0.1:18083,http://127.0.0.1:18084,http://127.0.0.1:18085"),
            None,
        )
        .unwrap();
        assert_eq!(c.nodes.len(), 5);
        let mut seen = [0u32; 5];
        for client in 0..400 {
            let to = c.failover(2, client, 0);
            assert_ne!(to, 2);
            seen[to] += 1;
        }
        assert_eq!(seen, [100, 100, 0, 100, 100], "evenly over the other four");
        // Successive attempts of one client walk through every other node before repeating.
        let tries: Vec<usize> = (0..4).map(|a| c.failover(2, 0, a)).collect();
        let mut sorted = tries.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 3, 4], "{tries:?}");
    }

    #[test]
    fn refuses_bad_node_lists() {
        let u = t("http://127.0.0.1:18081");
        let many: Vec<String> = (0..=MAX_NODES)
            .map(|i| format!("http://127.0.0.1:{}", 20_000 + i))
            .collect();
        let many = many.join(",");
        for bad in [
            "",
            " , ",
            "http://10.0.0.1:80",
            "http://127.0.0.1:1/x",
            "nonsense",
            &many,
        ] {
            let e = Cluster::parse(&u, Some(bad), None).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{bad}: {e}");
            assert!(e.to_string().contains("--visitor-nodes"), "{e}");
            assert!(Cluster::parse(&u, None, Some(bad)).is_err(), "{bad}");
        }
    }
}
