//! The three control bits f emits per position (remask, insert, delete) and their compact text form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Control bits for one position: `c[1] = remask`, `c[2] = insert`, `c[3] = delete` in the paper.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ControlBits {
    /// Put `M` at this position (on a mask: keep it masked, "hold").
    pub remask: bool,
    /// Add one new `M` right after this position.
    pub insert: bool,
    /// Drop this position if it is a mask (cancels its insert); ignored on decoded tokens.
    pub delete: bool,
}

impl ControlBits {
    /// No operation requested: a mask is unmasked, a decoded token is kept.
    pub const NONE: ControlBits = ControlBits {
        remask: false,
        insert: false,
        delete: false,
    };
    /// Remask only.
    pub const REMASK: ControlBits = ControlBits {
        remask: true,
        insert: false,
        delete: false,
    };
    /// Insert only.
    pub const INSERT: ControlBits = ControlBits {
        remask: false,
        insert: true,
        delete: false,
    };
    /// Delete only.
    pub const DELETE: ControlBits = ControlBits {
        remask: false,
        insert: false,
        delete: true,
    };

    /// The bits as one digit 0..=7: remask is 1, insert is 2, delete is 4.
    pub fn code(self) -> u8 {
        u8::from(self.remask) | (u8::from(self.insert) << 1) | (u8::from(self.delete) << 2)
    }

    /// The inverse of [`ControlBits::code`]; `None` for a value above 7.
    pub fn from_code(code: u8) -> Option<ControlBits> {
        (code <= 7).then_some(ControlBits {
            remask: code & 1 != 0,
            insert: code & 2 != 0,
            delete: code & 4 != 0,
        })
    }

    /// The same bits with insert set.
    pub fn with_insert(self) -> ControlBits {
        ControlBits {
            insert: true,
            ..self
        }
    }

    /// Whether any bit is set.
    pub fn any(self) -> bool {
        self.remask || self.insert || self.delete
    }
}

impl fmt::Display for ControlBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.remask { 'r' } else { '-' };
        let i = if self.insert { 'i' } else { '-' };
        let d = if self.delete { 'd' } else { '-' };
        write!(f, "{r}{i}{d}")
    }
}

/// A row of control bits, one per position, serialized as a string of digits (see
/// [`ControlBits::code`]): `"0104"` means remask at position 1 and delete at position 3.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitsRow(pub Vec<ControlBits>);

impl Serialize for BitsRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text: String = self.0.iter().map(|b| char::from(b'0' + b.code())).collect();
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for BitsRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.bytes()
            .enumerate()
            .map(|(i, c)| {
                c.checked_sub(b'0')
                    .and_then(ControlBits::from_code)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "control bits at position {i}: expected a digit 0-7, found {:?}",
                            char::from(c)
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(BitsRow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_for_all_eight_combinations() {
        for code in 0..=7u8 {
            let bits = ControlBits::from_code(code).unwrap();
            assert_eq!(bits.code(), code);
        }
        assert_eq!(ControlBits::from_code(8), None);
    }

    #[test]
    fn bits_row_serializes_as_digits_and_rejects_bad_text() {
        let row = BitsRow(vec![
            ControlBits::NONE,
            ControlBits::REMASK,
            ControlBits::DELETE,
        ]);
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#""014""#);
        assert_eq!(serde_json::from_str::<BitsRow>(&text).unwrap(), row);
        let err = serde_json::from_str::<BitsRow>(r#""01x""#).unwrap_err();
        assert!(err.to_string().contains("position 2"), "{err}");
        assert!(serde_json::from_str::<BitsRow>(r#""9""#).is_err());
    }
}
