//! The product/region hierarchy and bottom-up reconciliation: forecasts are made for the
//! leaves (region × product) and summed upwards, so every level adds up.

use std::collections::BTreeMap;

use crate::db::{PRODUCTS, REGIONS};

/// A node of the hierarchy: `total`, a region (`north`) or a leaf (`north/widget`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// Everything.
    Total,
    /// One region, all products.
    Region(String),
    /// One product in one region.
    Leaf {
        /// The region.
        region: String,
        /// The product.
        product: String,
    },
}

impl Node {
    /// Parses `total`, `REGION` or `REGION/PRODUCT` against the known hierarchy.
    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once('/') {
            None if s == "total" => Some(Node::Total),
            None => REGIONS.contains(&s).then(|| Node::Region(s.to_owned())),
            Some((r, p)) => (REGIONS.contains(&r) && PRODUCTS.contains(&p)).then(|| Node::Leaf {
                region: r.to_owned(),
                product: p.to_owned(),
            }),
        }
    }

    /// Every node, top-down.
    pub fn all() -> Vec<Node> {
        let mut nodes = vec![Node::Total];
        for r in REGIONS {
            nodes.push(Node::Region(r.to_owned()));
        }
        nodes.extend(Self::leaves());
        nodes
    }

    /// The leaves.
    pub fn leaves() -> Vec<Node> {
        REGIONS
            .iter()
            .flat_map(|r| {
                PRODUCTS.iter().map(move |p| Node::Leaf {
                    region: (*r).to_owned(),
                    product: (*p).to_owned(),
                })
            })
            .collect()
    }

    /// Whether `leaf` is under `self` (a leaf covers itself).
    pub fn covers(&self, leaf: &Node) -> bool {
        match (self, leaf) {
            (Node::Total, _) => true,
            (Node::Region(r), Node::Leaf { region, .. }) => r == region,
            (a, b) => a == b,
        }
    }

    /// `total`, `north`, `north/widget`.
    pub fn key(&self) -> String {
        match self {
            Node::Total => "total".to_owned(),
            Node::Region(r) => r.clone(),
            Node::Leaf { region, product } => format!("{region}/{product}"),
        }
    }

    /// `total`, `region` or `leaf`.
    pub fn level(&self) -> &'static str {
        match self {
            Node::Total => "total",
            Node::Region(_) => "region",
            Node::Leaf { .. } => "leaf",
        }
    }

    /// Direct children.
    pub fn children(&self) -> Vec<Node> {
        match self {
            Node::Total => REGIONS
                .iter()
                .map(|r| Node::Region((*r).to_owned()))
                .collect(),
            Node::Region(r) => PRODUCTS
                .iter()
                .map(|p| Node::Leaf {
                    region: r.clone(),
                    product: (*p).to_owned(),
                })
                .collect(),
            Node::Leaf { .. } => Vec::new(),
        }
    }
}

/// Sums leaf series element-wise into `node` (bottom-up aggregation or reconciliation).
pub fn sum_up(node: &Node, leaves: &BTreeMap<Node, Vec<f64>>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for (leaf, values) in leaves.iter().filter(|(l, _)| node.covers(l)) {
        let _ = leaf;
        if out.len() < values.len() {
            out.resize(values.len(), 0.0);
        }
        for (o, v) in out.iter_mut().zip(values) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_key_round_trip() {
        for node in Node::all() {
            assert_eq!(Node::parse(&node.key()), Some(node.clone()));
        }
        assert_eq!(Node::all().len(), 1 + 3 + 9);
        assert_eq!(Node::parse("east"), None);
        assert_eq!(Node::parse("north/sprocket"), None);
    }

    #[test]
    fn bottom_up_sums_are_coherent() {
        let leaves: BTreeMap<Node, Vec<f64>> = Node::leaves()
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, vec![i as f64, 1.0]))
            .collect();
        let total = sum_up(&Node::Total, &leaves);
        let regions: Vec<Vec<f64>> = Node::Total
            .children()
            .iter()
            .map(|r| sum_up(r, &leaves))
            .collect();
        assert_eq!(total, vec![36.0, 9.0]);
        let summed: f64 = regions.iter().map(|r| r[0]).sum();
        assert_eq!(summed, total[0]);
    }
}
