//! [`ArgminProblem`]: a loss-and-gradient closure as an argmin problem.

use argmin::core::{CostFunction, Error, Gradient};
use std::cell::RefCell;

/// A closure `f(x) -> Result<(loss, gradient), E>` as an argmin [`CostFunction`] +
/// [`Gradient`] over `Vec<f64>`, so that any argmin solver can drive an expgrad model. argmin
/// asks for the cost and the gradient separately; the last evaluation is cached, so one tape
/// serves both. An evaluation error becomes an argmin error (argmin stops the run): for a
/// model whose trial points can overflow, [`lbfgs`](super::lbfgs) is the robust choice.
///
/// ```
/// use argmin::core::{Executor, State};
/// use argmin::solver::linesearch::MoreThuenteLineSearch;
/// use argmin::solver::quasinewton::LBFGS;
/// use expgrad::optim::ArgminProblem;
/// let problem = ArgminProblem::new(|x: &[f64]| -> Result<(f64, Vec<f64>), String> {
///     Ok(((x[0] - 2.0).powi(2) + x[1] * x[1], vec![2.0 * (x[0] - 2.0), 2.0 * x[1]]))
/// });
/// let solver = LBFGS::new(MoreThuenteLineSearch::new(), 5);
/// let res = Executor::new(problem, solver)
///     .configure(|s| s.param(vec![0.0, 1.0]).max_iters(50))
///     .run()
///     .unwrap();
/// let x = res.state().get_best_param().unwrap();
/// assert!((x[0] - 2.0).abs() < 1e-8 && x[1].abs() < 1e-8);
/// ```
pub struct ArgminProblem<F> {
    f: F,
    cache: RefCell<Option<Evaluated>>,
}

/// The last evaluation: parameters, loss, gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

impl<F> ArgminProblem<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        Self {
            f,
            cache: RefCell::new(None),
        }
    }
}

impl<F, E> ArgminProblem<F>
where
    F: Fn(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: std::fmt::Display,
{
    fn eval(&self, x: &[f64]) -> Result<(f64, Vec<f64>), Error> {
        if let Some((p, c, g)) = &*self.cache.borrow() {
            if p.as_slice() == x {
                return Ok((*c, g.clone()));
            }
        }
        let (c, g) = (self.f)(x).map_err(|e| Error::msg(e.to_string()))?;
        *self.cache.borrow_mut() = Some((x.to_vec(), c, g.clone()));
        Ok((c, g))
    }
}

impl<F, E> CostFunction for ArgminProblem<F>
where
    F: Fn(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: std::fmt::Display,
{
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.eval(x)?.0)
    }
}

impl<F, E> Gradient for ArgminProblem<F>
where
    F: Fn(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: std::fmt::Display,
{
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        Ok(self.eval(x)?.1)
    }
}
