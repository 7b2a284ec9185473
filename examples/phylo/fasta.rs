//! A small FASTA reader for aligned DNA, and the nucleotide codes as sets of states.
//!
//! Written here rather than taken from a crate: the one well-kept FASTA reader on crates.io
//! is `bio`'s, which brings about 30 direct dependencies (ndarray, petgraph, …) for the 60
//! lines below; an aligned FASTA file needs no more than this.

/// The four states, in the order of the rows of every partial-likelihood matrix.
pub const STATES: [char; 4] = ['A', 'C', 'G', 'T'];

/// A sequence of an alignment: its name (the header up to the first blank) and its
/// characters (upper-cased, blanks removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The name.
    pub name: String,
    /// The aligned characters.
    pub seq: Vec<u8>,
}

/// The states a character allows, as a bit set (bit i for `STATES[i]`): one bit for a base,
/// several for an IUPAC ambiguity code, all four for a gap (`-`, `.`), `?`, `N` or `X`
/// (missing data, as cogent3 treats them); `None` for a character that is no nucleotide code.
pub fn state_set(c: u8) -> Option<u8> {
    const A: u8 = 1;
    const C: u8 = 2;
    const G: u8 = 4;
    const T: u8 = 8;
    Some(match c.to_ascii_uppercase() {
        b'A' => A,
        b'C' => C,
        b'G' => G,
        b'T' | b'U' => T,
        b'R' => A | G,
        b'Y' => C | T,
        b'S' => C | G,
        b'W' => A | T,
        b'K' => G | T,
        b'M' => A | C,
        b'B' => C | G | T,
        b'D' => A | G | T,
        b'H' => A | C | T,
        b'V' => A | C | G,
        b'N' | b'X' | b'?' | b'-' | b'.' => A | C | G | T,
        _ => return None,
    })
}

/// Parses aligned FASTA text: `>name` lines each followed by sequence lines. Errors (with
/// the line number) for text before the first header, an empty name, a duplicate name, a
/// character that is no nucleotide code, sequences of different lengths, or no sequence.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let mut records: Vec<Record> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('>') {
            let name = header.split_whitespace().next().unwrap_or("");
            if name.is_empty() {
                return Err(format!("line {}: a header with no name", i + 1));
            }
            if records.iter().any(|r| r.name == name) {
                return Err(format!("line {}: sequence {name:?} appears twice", i + 1));
            }
            records.push(Record {
                name: name.to_string(),
                seq: Vec::new(),
            });
            continue;
        }
        let Some(record) = records.last_mut() else {
            return Err(format!(
                "line {}: sequence text before the first '>' header (is this FASTA?)",
                i + 1
            ));
        };
        for c in line.bytes().filter(|c| !c.is_ascii_whitespace()) {
            if state_set(c).is_none() {
                return Err(format!(
                    "line {}: {:?} in sequence {:?} is not a nucleotide code",
                    i + 1,
                    c as char,
                    record.name
                ));
            }
            record.seq.push(c.to_ascii_uppercase());
        }
    }
    let Some(first) = records.first() else {
        return Err("no sequence (no '>' header)".into());
    };
    let len = first.seq.len();
    if len == 0 {
        return Err(format!("sequence {:?} is empty", first.name));
    }
    if let Some(r) = records.iter().find(|r| r.seq.len() != len) {
        return Err(format!(
            "not an alignment: sequence {:?} has {} characters, {:?} has {len}",
            r.name,
            r.seq.len(),
            first.name
        ));
    }
    Ok(records)
}

/// FASTA text of `records`, 60 characters a line.
pub fn write(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push('>');
        out.push_str(&r.name);
        out.push('\n');
        for chunk in r.seq.chunks(60) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiline_records_and_codes() {
        let r = parse(">a desc\nAC-\nNr\n\n>b\nacgtu\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].name.as_str(), r[0].seq.as_slice()),
            ("a", &b"AC-NR"[..])
        );
        assert_eq!(state_set(b'R'), Some(1 | 4));
        assert_eq!(state_set(b'-'), Some(15));
        assert_eq!(parse(&write(&r)).unwrap(), r);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse("ACGT\n").unwrap_err().contains("before the first"));
        assert!(
            parse(">a\nAC\n>b\nA\n")
                .unwrap_err()
                .contains("not an alignment")
        );
        assert!(parse(">a\nAZ\n").unwrap_err().contains("'Z'"));
        assert!(parse(">a\nA\n>a\nC\n").unwrap_err().contains("twice"));
        assert!(parse("").unwrap_err().contains("no sequence"));
        assert!(parse(">\nA\n").unwrap_err().contains("no name"));
    }
}
