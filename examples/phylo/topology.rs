//! The unrooted tree the likelihood runs on: the Newick tree pruned to the alignment's taxa,
//! with unary nodes collapsed and a bifurcating root removed, then numbered for the pruning
//! recursion.
//!
//! Numbering: tips `0..n_taxa` in the alignment's order, internal nodes after them in
//! post-order, the root (an internal node with ≥ 3 children) last. Every node but the root
//! has the branch above it, and branch `b` is the one above node `b`: `n_nodes − 1` branches
//! (`2n − 3` for a binary tree of `n` taxa), and a child's index is always below its parent's.

use super::newick;
use std::collections::HashMap;

/// An unrooted tree, rooted at an internal node for the computation (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// The taxa, in the alignment's order: tip `i` is `names[i]`.
    pub names: Vec<String>,
    /// Each node's children (empty for tips); the root is the last node.
    pub children: Vec<Vec<usize>>,
    /// The lengths the file gave to the branches (branch `b` above node `b`), if any.
    pub lengths: Vec<Option<f64>>,
    /// Tips of the file's tree that are not in the alignment (pruned away).
    pub pruned: Vec<String>,
}

/// A node of the intermediate pruned tree.
struct Kept {
    children: Vec<usize>,
    length: Option<f64>,
    taxon: Option<usize>,
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

impl Topology {
    /// The tree of `tree` on the taxa `taxa` (the alignment's names, in its order). Tips
    /// of the file that are not in `taxa` are pruned; a taxon with no tip, a tip name that
    /// appears twice, or fewer than 3 taxa is an error naming them.
    pub fn new(tree: &newick::Tree, taxa: &[String]) -> Result<Self, String> {
        let index: HashMap<&str, usize> = taxa
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let tips = tree.tips();
        let mut seen = vec![false; taxa.len()];
        let mut pruned = Vec::new();
        for &v in &tips {
            let name = &tree.nodes[v].name;
            match index.get(name.as_str()) {
                Some(&i) if seen[i] => {
                    return Err(format!("tip {name:?} appears twice in the tree"));
                }
                Some(&i) => seen[i] = true,
                None => pruned.push(name.clone()),
            }
        }
        let missing: Vec<&str> = taxa
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(5).copied().collect();
            return Err(format!(
                "{} sequence(s) of the alignment have no tip in the tree: {}{}",
                missing.len(),
                shown.join(", "),
                if missing.len() > 5 { ", …" } else { "" }
            ));
        }
        if taxa.len() < 3 {
            return Err(format!(
                "{} taxa: an unrooted tree needs at least 3",
                taxa.len()
            ));
        }
        // Post-order over the file's tree: each kept subtree's representative.
        let mut kept: Vec<Kept> = Vec::new();
        let mut rep: Vec<Option<usize>> = vec![None; tree.nodes.len()];
        for &v in tree.preorder().iter().rev() {
            let node = &tree.nodes[v];
            if node.children.is_empty() {
                if let Some(&i) = index.get(node.name.as_str()) {
                    kept.push(Kept {
                        children: vec![],
                        length: node.length,
                        taxon: Some(i),
                    });
                    rep[v] = Some(kept.len() - 1);
                }
                continue;
            }
            let kids: Vec<usize> = node.children.iter().filter_map(|&c| rep[c]).collect();
            match kids.len() {
                0 => {}
                1 => {
                    // A unary node: its branch joins its child's.
                    let k = kids[0];
                    kept[k].length = add(kept[k].length, node.length);
                    rep[v] = Some(k);
                }
                _ => {
                    kept.push(Kept {
                        children: kids,
                        length: node.length,
                        taxon: None,
                    });
                    rep[v] = Some(kept.len() - 1);
                }
            }
        }
        let mut root = rep[tree.root].ok_or("the tree has no tip of the alignment")?;
        if kept[root].children.len() == 2 {
            // A rooted (bifurcating) root: its two branches are one branch of the unrooted
            // tree. Remove an internal child, giving its branch to the other child.
            let (a, b) = (kept[root].children[0], kept[root].children[1]);
            let (inner, other) = if kept[a].taxon.is_none() {
                (a, b)
            } else {
                (b, a)
            };
            kept[other].length = add(kept[other].length, kept[inner].length);
            let grand = std::mem::take(&mut kept[inner].children);
            kept[root].children = grand;
            kept[root].children.push(other);
        }
        kept[root].length = None;
        // Renumber: tips by taxon, internal nodes in post-order, the root last.
        let n = taxa.len();
        let mut order = Vec::new();
        let mut stack = vec![(root, false)];
        while let Some((v, done)) = stack.pop() {
            if done || kept[v].children.is_empty() {
                order.push(v);
            } else {
                stack.push((v, true));
                for &c in kept[v].children.iter().rev() {
                    stack.push((c, false));
                }
            }
        }
        let mut id = vec![usize::MAX; kept.len()];
        let mut next = n;
        for &v in &order {
            id[v] = match kept[v].taxon {
                Some(i) => i,
                None => {
                    next += 1;
                    next - 1
                }
            };
        }
        let total = next;
        let mut children = vec![Vec::new(); total];
        let mut lengths = vec![None; total];
        for &v in &order {
            children[id[v]] = kept[v].children.iter().map(|&c| id[c]).collect();
            lengths[id[v]] = kept[v].length;
        }
        root = id[root];
        debug_assert_eq!(root, total - 1);
        lengths.truncate(total - 1);
        Ok(Self {
            names: taxa.to_vec(),
            children,
            lengths,
            pruned,
        })
    }

    /// Number of taxa (tips).
    pub fn n_taxa(&self) -> usize {
        self.names.len()
    }

    /// Number of branches (`2n − 3` for a binary tree).
    pub fn n_branches(&self) -> usize {
        self.children.len() - 1
    }

    /// The root's index (the last node).
    pub fn root(&self) -> usize {
        self.children.len() - 1
    }

    /// Each node's parent (`None` for the root).
    pub fn parents(&self) -> Vec<Option<usize>> {
        let mut p = vec![None; self.children.len()];
        for (v, kids) in self.children.iter().enumerate() {
            for &c in kids {
                p[c] = Some(v);
            }
        }
        p
    }

    /// The tree with branch lengths `lengths` (one per branch) as a Newick tree.
    pub fn to_newick(&self, lengths: &[f64]) -> newick::Tree {
        let nodes = (0..self.children.len())
            .map(|v| newick::Node {
                parent: None,
                children: self.children[v].clone(),
                name: self.names.get(v).cloned().unwrap_or_default(),
                length: lengths.get(v).copied(),
            })
            .collect::<Vec<_>>();
        let mut tree = newick::Tree {
            nodes,
            root: self.root(),
        };
        for (v, p) in self.parents().into_iter().enumerate() {
            tree.nodes[v].parent = p;
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn prunes_collapses_and_unroots() {
        // Rooted on 5 tips; "x" is not in the alignment.
        let t = newick::parse("(((a:1,x:1):2,b:3):1,((c:1,d:1):1,e:1):4);").unwrap();
        let topo = Topology::new(&t, &names(&["e", "d", "c", "b", "a"])).unwrap();
        assert_eq!(topo.pruned, ["x"]);
        assert_eq!(topo.n_branches(), 7);
        let root = topo.root();
        assert_eq!(topo.children[root].len(), 3);
        // a's branch absorbed the collapsed unary node: 1 + 2.
        assert_eq!(topo.lengths[4], Some(3.0));
        for (v, kids) in topo.children.iter().enumerate() {
            assert!(kids.iter().all(|&c| c < v));
        }
        // The root's two branches (1 and 4) became one branch of length 5.
        let total: f64 = topo.lengths.iter().map(|l| l.unwrap()).sum();
        assert_eq!(total, 1.0 + 2.0 + 3.0 + 1.0 + 1.0 + 1.0 + 1.0 + 1.0 + 4.0);
    }

    #[test]
    fn taxa_mismatch_is_an_error() {
        let t = newick::parse("(a,b,(c,d));").unwrap();
        let e = Topology::new(&t, &names(&["a", "b", "z"])).unwrap_err();
        assert!(e.contains("z"), "{e}");
        let e = Topology::new(&t, &names(&["a", "b"])).unwrap_err();
        assert!(e.contains("at least 3"), "{e}");
        let t = newick::parse("(a,b,(c,a));").unwrap();
        let e = Topology::new(&t, &names(&["a", "b", "c"])).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
