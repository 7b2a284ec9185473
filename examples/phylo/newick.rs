//! A small Newick reader and writer.
//!
//! Written here rather than taken from a crate: `newick` (LGPL-3.0) and `phylotree`
//! (GPL-3.0) would put copyleft licences into this MIT/Apache-2.0 workspace, and `bio`'s
//! tree reader brings pest and about 30 other direct dependencies. The format needs about
//! 150 lines: nested parentheses, labels (plain or quoted), `:length`, `[comments]`.
//! The parser is iterative (an explicit stack), so a deep caterpillar tree cannot overflow
//! the call stack.

/// A node of a rooted tree: its parent, children, label and length of the branch above it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    /// The parent's index (`None` for the root).
    pub parent: Option<usize>,
    /// The children's indices, in the file's order.
    pub children: Vec<usize>,
    /// The label (tip name; internal labels are kept but not used).
    pub name: String,
    /// The length of the branch to the parent, when the file gives one.
    pub length: Option<f64>,
}

/// A rooted tree as read from a Newick string: the nodes, and which one is the root.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// The nodes (any order; `root` names the root).
    pub nodes: Vec<Node>,
    /// The root's index.
    pub root: usize,
}

impl Tree {
    /// The tips (nodes without children) in the order they appear in the file.
    pub fn tips(&self) -> Vec<usize> {
        self.preorder()
            .into_iter()
            .filter(|&v| self.nodes[v].children.is_empty())
            .collect()
    }

    /// The nodes reachable from the root, parents before children, children in order.
    pub fn preorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack = vec![self.root];
        while let Some(v) = stack.pop() {
            out.push(v);
            stack.extend(self.nodes[v].children.iter().rev());
        }
        out
    }
}

fn describe(c: Option<char>) -> String {
    match c {
        Some(c) => format!("{c:?}"),
        None => "the end of the text".into(),
    }
}

/// Parses one Newick tree (`(a:1,(b:2,c:3)x:4);`). Errors name the character position and
/// what was expected: unbalanced parentheses, a bad length, text after `;`, a missing `;`,
/// an empty tip name.
pub fn parse(text: &str) -> Result<Tree, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0usize;
    let mut nodes: Vec<Node> = Vec::new();
    // The open internal nodes, innermost last.
    let mut open: Vec<usize> = Vec::new();
    let skip = |pos: &mut usize| -> Result<(), String> {
        loop {
            while *pos < chars.len() && chars[*pos].is_whitespace() {
                *pos += 1;
            }
            if *pos < chars.len() && chars[*pos] == '[' {
                let start = *pos;
                while *pos < chars.len() && chars[*pos] != ']' {
                    *pos += 1;
                }
                if *pos == chars.len() {
                    return Err(format!("position {start}: a '[' comment is never closed"));
                }
                *pos += 1;
            } else {
                return Ok(());
            }
        }
    };
    // Label and length after a node's closing parenthesis (or a tip's start).
    let label_and_length = |pos: &mut usize| -> Result<(String, Option<f64>), String> {
        skip(pos)?;
        let mut name = String::new();
        if *pos < chars.len() && chars[*pos] == '\'' {
            *pos += 1;
            loop {
                match chars.get(*pos) {
                    None => return Err("a quoted label is never closed".into()),
                    Some('\'') if chars.get(*pos + 1) == Some(&'\'') => {
                        name.push('\'');
                        *pos += 2;
                    }
                    Some('\'') => {
                        *pos += 1;
                        break;
                    }
                    Some(&c) => {
                        name.push(c);
                        *pos += 1;
                    }
                }
            }
        } else {
            while *pos < chars.len() && !"():,;[".contains(chars[*pos]) {
                // Underscores are kept (not read as blanks): FASTA names keep theirs.
                name.push(chars[*pos]);
                *pos += 1;
            }
            name = name.trim().to_string();
        }
        skip(pos)?;
        let mut length = None;
        if *pos < chars.len() && chars[*pos] == ':' {
            *pos += 1;
            skip(pos)?;
            let start = *pos;
            while *pos < chars.len() && !"():,;[".contains(chars[*pos]) {
                *pos += 1;
            }
            let s: String = chars[start..*pos].iter().collect::<String>();
            let s = s.trim();
            let v: f64 = s
                .parse()
                .map_err(|_| format!("position {start}: branch length {s:?} is not a number"))?;
            if !v.is_finite() {
                return Err(format!(
                    "position {start}: branch length {s:?} is not finite"
                ));
            }
            length = Some(v);
            skip(pos)?;
        }
        Ok((name, length))
    };
    let attach = |nodes: &mut Vec<Node>, open: &[usize], node: Node| -> usize {
        let v = nodes.len();
        let parent = open.last().copied();
        nodes.push(Node { parent, ..node });
        if let Some(p) = parent {
            nodes[p].children.push(v);
        }
        v
    };
    skip(&mut pos)?;
    let root;
    loop {
        // At the start of a subtree.
        skip(&mut pos)?;
        if chars.get(pos) == Some(&'(') {
            pos += 1;
            let v = attach(&mut nodes, &open, Node::default());
            open.push(v);
            continue;
        }
        let at = pos;
        let (name, length) = label_and_length(&mut pos)?;
        if name.is_empty() {
            return Err(format!(
                "position {at}: expected a tip name or '(', found {}",
                describe(chars.get(at).copied())
            ));
        }
        let mut last = attach(
            &mut nodes,
            &open,
            Node {
                name,
                length,
                ..Node::default()
            },
        );
        // After a subtree: ',' starts a sibling, ')' closes the parent, ';' ends the tree.
        loop {
            skip(&mut pos)?;
            match chars.get(pos) {
                Some(',') if !open.is_empty() => {
                    pos += 1;
                    break;
                }
                Some(')') if !open.is_empty() => {
                    pos += 1;
                    let v = open.pop().unwrap_or(last);
                    let (name, length) = label_and_length(&mut pos)?;
                    nodes[v].name = name;
                    nodes[v].length = length;
                    last = v;
                }
                Some(';') if open.is_empty() => {
                    pos += 1;
                    break;
                }
                c => {
                    let want = if open.is_empty() { "';'" } else { "',' or ')'" };
                    return Err(format!(
                        "position {pos}: expected {want}, found {}",
                        describe(c.copied())
                    ));
                }
            }
        }
        if open.is_empty() {
            root = last;
            break;
        }
    }
    skip(&mut pos)?;
    if pos < chars.len() {
        return Err(format!(
            "position {pos}: text after the tree's ';' (one tree per file)"
        ));
    }
    Ok(Tree { nodes, root })
}

fn quote(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| !"():,;[]'".contains(c) && !c.is_whitespace())
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// The Newick text of `tree` (lengths with 8 significant digits), ending in `;`.
pub fn write(tree: &Tree) -> String {
    // Iterative post-order assembly of each node's text.
    let order = tree.preorder();
    let mut text: Vec<String> = vec![String::new(); tree.nodes.len()];
    for &v in order.iter().rev() {
        let node = &tree.nodes[v];
        let mut s = String::new();
        if !node.children.is_empty() {
            s.push('(');
            let parts: Vec<String> = node
                .children
                .iter()
                .map(|&c| std::mem::take(&mut text[c]))
                .collect();
            s.push_str(&parts.join(","));
            s.push(')');
        }
        if !node.name.is_empty() {
            s.push_str(&quote(&node.name));
        }
        if let Some(l) = node.length {
            s.push_str(&format!(":{l:.8e}"));
        }
        text[v] = s;
    }
    let mut out = std::mem::take(&mut text[tree.root]);
    out.push(';');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lengths_labels_quotes_and_comments() {
        let t = parse(" ((a:0.1,'b c':2e-1)x:0.3 [note], d_e, (f)) ;\n").unwrap();
        let names: Vec<&str> = t.tips().iter().map(|&v| t.nodes[v].name.as_str()).collect();
        assert_eq!(names, ["a", "b c", "d_e", "f"]);
        let root = &t.nodes[t.root];
        assert_eq!(root.children.len(), 3);
        let x = &t.nodes[root.children[0]];
        assert_eq!((x.name.as_str(), x.length), ("x", Some(0.3)));
        let again = parse(&write(&t)).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for (text, says) in [
            ("(a,b", "expected ',' or ')'"),
            ("(a,b));", "expected ';'"),
            ("(a,b)", "expected ';'"),
            ("(a:x,b);", "not a number"),
            ("(a,,b);", "expected a tip name"),
            ("(a,b); (c,d);", "text after"),
            ("(a,b)[oops;", "never closed"),
            ("", "expected a tip name"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
