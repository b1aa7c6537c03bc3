//! A student's walk-through: the same task under ARM, MDM and AP-MDM, step by step.
//!
//! Run with `cargo run --example walkthrough`. It reverses a short word with an ARM (one token per
//! step), an MDM (heap levels decoded in parallel: floor(log2 n) + 1 steps), and shows the AP-MDM
//! parity procedure, which edits its own canvas with remask and delete. Every step is checked
//! against its model class by `machine::run`; a step that broke the class would stop the run.

use apmdm::machine::library::{
    parity_canvas, reverse_arm_canvas, reverse_canvas, ParityEliminator, ReverseArm, ReverseFill,
    Schedule, END,
};
use apmdm::machine::{run, ModelClass, RunConfig, TraceText};

fn main() {
    let word = "diffuse";

    println!("== ARM: append one token per step ==");
    let arm = run(
        &mut ReverseArm,
        reverse_arm_canvas(word),
        &RunConfig::new(ModelClass::Arm).end_token(END).full_trace(),
    );
    print!("{}", TraceText(&arm.trace));
    println!("{} steps, context {}\n", arm.steps(), arm.context_length());

    println!("== MDM: fill masks in parallel, holding those not yet due ==");
    let mdm = run(
        &mut ReverseFill(Schedule::HeapLevels),
        reverse_canvas(word),
        &RunConfig::new(ModelClass::Mdm).full_trace(),
    );
    print!("{}", TraceText(&mdm.trace));
    println!("{} steps, context {}\n", mdm.steps(), mdm.context_length());

    println!("== AP-MDM: parity by remask and delete ==");
    let bits = [true, false, true, true, false];
    let ap = run(
        &mut ParityEliminator,
        parity_canvas(&bits),
        &RunConfig::new(ModelClass::ApMdm).full_trace(),
    );
    print!("{}", TraceText(&ap.trace));
    println!(
        "{} steps, context {}; the surviving 1 (if any) was input bit {:?}",
        ap.steps(),
        ap.context_length(),
        ap.last.payloads().get(1)
    );

    println!("\n== The MDM schedule run as an AO-MDM breaks that class ==");
    let broken = run(
        &mut ReverseFill(Schedule::HeapLevels),
        reverse_canvas(word),
        &RunConfig::new(ModelClass::AoMdm),
    );
    println!("stopped: {}", broken.stop);
}
