//! Using apmdm as a regression-test helper: assert that a PRAM program's compiled MDM schedule
//! takes O(T) decoding steps and O(n + W + T) context, and its AP-MDM schedule O(T) steps and
//! O(S + P) context, for every size, exactly.
//!
//! Run with `cargo run --release --example bound_check`.

use apmdm::check::bound::Bound;
use apmdm::pram;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any program: a built-in one here; `pram::parse(name, source)` for your own.
    let program = pram::library::load("list_ranking").expect("built in")?;

    // Steps: at most 2T + 3 (the construction takes T + 1).
    let rows = Bound::steps(|m| 2 * m.rounds + 3)
        .over([1, 2, 4, 8, 16, 32])
        .seeds([1, 2])
        .check(&program)?;
    println!("steps <= 2T + 3 held at {} (size, seed) pairs", rows.len());

    // Used context: at most 2 (n + W + T) + 2, where n counts the input cells and output cells.
    let rows = Bound::context_used(|m| 2 * (2 * m.n + m.work + m.rounds) + 2)
        .over([1, 2, 4, 8, 16, 32])
        .check(&program)?;
    println!(
        "used context <= 2(2n + W + T) + 2 held at {} sizes",
        rows.len()
    );

    // The same program on the AP-MDM (Theorem 4): three steps per round and two to finish, and
    // a context of the space plus the processor region (n here) plus the two headers.
    let rows = Bound::steps(|m| 3 * m.rounds + 2)
        .apmdm()
        .over([1, 2, 4, 8, 16, 32])
        .check(&program)?;
    println!("AP-MDM steps <= 3T + 2 held at {} sizes", rows.len());
    let rows = Bound::context(|m| m.space + m.n + 2)
        .apmdm()
        .over([1, 2, 4, 8, 16, 32])
        .check(&program)?;
    println!("AP-MDM context <= S + n + 2 held at {} sizes", rows.len());

    // A bound that is too tight fails with the whole table in its message.
    match Bound::steps(|m| m.rounds).over([1, 4, 16]).check(&program) {
        Ok(_) => println!("unexpected: steps <= T held"),
        Err(e) => println!("as expected, steps <= T does not hold:\n{e}"),
    }
    Ok(())
}
