//! Tests of `ExpmAction`'s storage (`StorePolicy::{All, Checkpoint, Auto}`, stored values and
//! reverse products) and of its memory recycling (`ActionWorkspace`, `ExpmAction::new_in`,
//! `recycle`): every policy and a recycled workspace give bitwise the same values and
//! gradients.
#[path = "common/action.rs"]
mod helpers;

use expgrad_linalg::*;
use expgrad_testkit::{csr, randn, random_sparse, rng};
use helpers::sparse_and_scaling;
use rand::Rng;

#[test]
fn store_policies_give_bitwise_equal_gradients() {
    let mut r = rng(21);
    let n = 60;
    let a = csr(random_sparse(&mut r, n, 4).as_ref());
    let d: Vec<f64> = (0..n)
        .map(|i| {
            if i % 5 == 0 {
                0.0
            } else {
                r.random_range(0.2..2.0)
            }
        })
        .collect();
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    for side in [Side::Left, Side::Right] {
        let op = DiagScaled::new(&d, &a, side);
        let t = -3.0;
        let run = |store: StorePolicy| {
            let act = ExpmAction::new(
                &op,
                t,
                v.as_ref(),
                ExpmActionOptions::default().store(store),
            );
            let mut sink = op.cotangent();
            let mut dense_sink = DenseCotangent::new(n);
            let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut sink);
            act.vjp(wbar.as_ref(), &mut dense_sink);
            (act, vbar, tbar, sink.into_value(), dense_sink.into_value())
        };
        let all = run(StorePolicy::All);
        let cp = run(StorePolicy::Checkpoint);
        let (m, s) = all.0.params();
        assert!(s >= 2, "the test needs several steps, got s = {s}");
        assert_eq!(all.0.store_policy(), StorePolicy::All);
        assert_eq!(cp.0.store_policy(), StorePolicy::Checkpoint);
        assert_eq!(all.0.value(), cp.0.value());
        assert_eq!(all.0.value(), expm_multiply(&op, t, v.as_ref()));
        assert_eq!((&all.1, all.2, &all.3, &all.4), (&cp.1, cp.2, &cp.3, &cp.4));
        // Memory: checkpoints are the s step inputs; the full tape holds every b_{k−1} (and,
        // for the left scaling, every raw product A·b_{k−1}).
        let terms: usize = all.0.terms().iter().sum();
        assert_eq!(cp.0.stored_values(), s * n * 2);
        let raw = if side == Side::Left { 2 } else { 1 };
        assert_eq!(all.0.stored_values(), raw * terms * n * 2);
        assert_eq!(all.0.reverse_products(), m * s * 2);
        assert_eq!(cp.0.reverse_products(), m * s * 2 + all.0.products());
        // Auto: below the budget → All, above → Checkpoint.
        let auto = |b| {
            let o = ExpmActionOptions::default().store(StorePolicy::Auto { budget_bytes: b });
            ExpmAction::new(&op, t, v.as_ref(), o).store_policy()
        };
        assert_eq!(auto(DEFAULT_STORE_BUDGET_BYTES), StorePolicy::All);
        assert_eq!(auto(1000), StorePolicy::Checkpoint);
    }
}

#[test]
fn recycled_workspace_gives_bitwise_the_same_results() {
    let mut r = rng(41);
    let n = 50;
    let (a, d) = sparse_and_scaling(&mut r, n);
    let op = DiagScaled::left(&d, &a);
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    let mut ws = ActionWorkspace::new();
    for store in [StorePolicy::All, StorePolicy::Checkpoint, StorePolicy::All] {
        let o = ExpmActionOptions::default().store(store);
        let fresh = ExpmAction::new(&op, -2.5, v.as_ref(), o);
        let reused = ExpmAction::new_in(&op, -2.5, v.as_ref(), o, &mut ws);
        assert_eq!(fresh.value(), reused.value());
        let (mut g1, mut g2) = (op.cotangent(), op.cotangent());
        let r1 = fresh.vjp(wbar.as_ref(), &mut g1);
        let r2 = reused.vjp(wbar.as_ref(), &mut g2);
        assert_eq!((r1, g1.value()), (r2, g2.value()));
        reused.recycle(&mut ws);
        assert!(ws.blocks() > 0);
    }
}
