//! The model classes (ARM, MDM, AO-MDM, Masked ARM, AP-MDM) as restrictions of g, checked per step.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::control::ControlBits;
use super::token::Token;

/// A way to generate, as a restriction on what one step of g may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelClass {
    /// Autoregressive: the trailing mask is unmasked and a new mask inserted after it; nothing else.
    Arm,
    /// Masked diffusion: no insert or delete; remask only on masks ("hold").
    Mdm,
    /// Any-order MDM: an MDM that unmasks exactly one mask per step (while masks remain).
    AoMdm,
    /// Masked ARM: an AO-MDM that always unmasks the leftmost mask.
    MaskedArm,
    /// Any-process MDM: anything g allows.
    ApMdm,
}

impl ModelClass {
    /// Every class, from the most to the least restricted family.
    pub const ALL: [ModelClass; 5] = [
        ModelClass::Arm,
        ModelClass::MaskedArm,
        ModelClass::AoMdm,
        ModelClass::Mdm,
        ModelClass::ApMdm,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ModelClass::Arm => "arm",
            ModelClass::Mdm => "mdm",
            ModelClass::AoMdm => "ao-mdm",
            ModelClass::MaskedArm => "masked-arm",
            ModelClass::ApMdm => "ap-mdm",
        }
    }

    /// The name as the paper writes it.
    pub fn paper_name(self) -> &'static str {
        match self {
            ModelClass::Arm => "ARM",
            ModelClass::Mdm => "MDM",
            ModelClass::AoMdm => "AO-MDM",
            ModelClass::MaskedArm => "Masked ARM",
            ModelClass::ApMdm => "AP-MDM",
        }
    }
}

impl fmt::Display for ModelClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.paper_name())
    }
}

impl FromStr for ModelClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ModelClass::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ModelClass::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown model class {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The rule a step broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// An insert bit where the class allows none.
    InsertForbidden,
    /// A delete bit where the class allows none.
    DeleteForbidden,
    /// Remask on a decoded token: decoded tokens never change in this class.
    RemaskOfDecodedToken,
    /// The step unmasked `unmasked` masks where the class requires exactly one.
    UnmaskCount {
        /// How many masks the step unmasked.
        unmasked: usize,
    },
    /// A Masked ARM unmasked a mask other than the leftmost one.
    NotLeftmost {
        /// The leftmost mask, which had to be the one unmasked.
        leftmost: usize,
    },
    /// An ARM sequence must be decoded tokens followed by exactly one trailing mask.
    ArmShape,
    /// An ARM's trailing mask must be unmasked (not held) and insert the next mask.
    ArmTrailingStep,
    /// An ARM step set a bit on a position other than the trailing mask.
    ArmPrefixChanged,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::InsertForbidden => f.write_str("insert is not allowed"),
            Rule::DeleteForbidden => f.write_str("delete is not allowed"),
            Rule::RemaskOfDecodedToken => {
                f.write_str("remask of a decoded token (decoded tokens never change)")
            }
            Rule::UnmaskCount { unmasked } => {
                write!(f, "unmasked {unmasked} masks; exactly one is required")
            }
            Rule::NotLeftmost { leftmost } => {
                write!(
                    f,
                    "unmasked a mask other than the leftmost one (position {leftmost})"
                )
            }
            Rule::ArmShape => f.write_str(
                "the sequence must be decoded tokens followed by exactly one trailing mask",
            ),
            Rule::ArmTrailingStep => {
                f.write_str("the trailing mask must be unmasked and insert the next mask")
            }
            Rule::ArmPrefixChanged => {
                f.write_str("only the trailing mask may act; this position set a control bit")
            }
        }
    }
}

/// A step that breaks its model class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{class} violation at step {step}, position {position}: {rule}")]
pub struct ClassViolation {
    /// The class whose rule was broken.
    pub class: ModelClass,
    /// The step being taken (1-based: step k turns x_{k-1} into x_k).
    pub step: usize,
    /// The position in x_{k-1} where the rule was broken.
    pub position: usize,
    /// The rule.
    pub rule: Rule,
}

/// Checks that one step, proposed on sequence `x` with `bits`, is legal in `class`.
///
/// The proposed tokens do not matter: y is never `M`, so every mask that is not remasked or
/// deleted is unmasked. `bits` should have one entry per position (the runner has g check that
/// first); missing entries count as no bits set.
pub fn check_step<A>(
    class: ModelClass,
    step: usize,
    x: &[Token<A>],
    bits: &[ControlBits],
) -> Result<(), ClassViolation> {
    let fail = |position: usize, rule: Rule| ClassViolation {
        class,
        step,
        position,
        rule,
    };
    match class {
        ModelClass::ApMdm => Ok(()),
        ModelClass::Arm => check_arm(x, bits).map_err(|(p, r)| fail(p, r)),
        ModelClass::Mdm | ModelClass::AoMdm | ModelClass::MaskedArm => {
            check_mdm(x, bits).map_err(|(p, r)| fail(p, r))?;
            if class == ModelClass::Mdm {
                return Ok(());
            }
            let mut unmasked = x
                .iter()
                .zip(bits)
                .enumerate()
                .filter(|(_, (t, b))| t.is_mask() && !b.remask)
                .map(|(i, _)| i);
            let leftmost = x.iter().position(|t| t.is_mask());
            match (leftmost, unmasked.next(), unmasked.next()) {
                // No masks left: nothing can be unmasked, and the step is a fixed point.
                (None, _, _) => Ok(()),
                (Some(first), None, _) => Err(fail(first, Rule::UnmaskCount { unmasked: 0 })),
                (Some(_), Some(_), Some(second)) => Err(fail(
                    second,
                    Rule::UnmaskCount {
                        unmasked: 2 + unmasked.count(),
                    },
                )),
                (Some(first), Some(only), None) => {
                    if class == ModelClass::MaskedArm && only != first {
                        Err(fail(only, Rule::NotLeftmost { leftmost: first }))
                    } else {
                        Ok(())
                    }
                }
            }
        }
    }
}

/// MDM: no insert or delete bits anywhere, remask only on masks.
fn check_mdm<A>(x: &[Token<A>], bits: &[ControlBits]) -> Result<(), (usize, Rule)> {
    for (i, (t, b)) in x.iter().zip(bits).enumerate() {
        if b.insert {
            return Err((i, Rule::InsertForbidden));
        }
        if b.delete {
            return Err((i, Rule::DeleteForbidden));
        }
        if b.remask && !t.is_mask() {
            return Err((i, Rule::RemaskOfDecodedToken));
        }
    }
    Ok(())
}

/// ARM: x is decoded tokens then one trailing mask; that mask (only) unmasks and inserts.
fn check_arm<A>(x: &[Token<A>], bits: &[ControlBits]) -> Result<(), (usize, Rule)> {
    let Some(last) = x.len().checked_sub(1) else {
        return Err((0, Rule::ArmShape));
    };
    if let Some(i) = x.iter().position(|t| t.is_mask()).filter(|&i| i != last) {
        return Err((i, Rule::ArmShape));
    }
    if !x[last].is_mask() {
        return Err((last, Rule::ArmShape));
    }
    if let Some(i) = bits.iter().take(last).position(|b| b.any()) {
        return Err((i, Rule::ArmPrefixChanged));
    }
    if bits.get(last).copied().unwrap_or_default() != ControlBits::INSERT {
        return Err((last, Rule::ArmTrailingStep));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_parse_back() {
        for c in ModelClass::ALL {
            assert_eq!(c.name().parse::<ModelClass>(), Ok(c));
        }
        let err = "gpt".parse::<ModelClass>().unwrap_err();
        assert!(err.contains("ap-mdm"), "{err}");
    }

    #[test]
    fn violation_message_names_step_position_and_rule() {
        let v = ClassViolation {
            class: ModelClass::Mdm,
            step: 3,
            position: 5,
            rule: Rule::InsertForbidden,
        };
        assert_eq!(
            v.to_string(),
            "MDM violation at step 3, position 5: insert is not allowed"
        );
    }
}
