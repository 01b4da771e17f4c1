using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Trainer;

/// <summary>
/// AdamW (Loshchilov and Hutter) with exactly torch.optim.AdamW's single-tensor update (decoupled weight decay, bias correction,
/// eps outside the square root). It is written out here instead of using TorchSharp's optim.AdamW so that its state, each
/// parameter's exp_avg / exp_avg_sq and the step count, is plain named tensors that a checkpoint saves in safetensors beside the
/// weights (torchtune-style exact resume; TorchSharp's optimizer state is only reachable through its own binary format).
/// Parameters whose name ends in "norm.weight" or ".bias", and 1-D tensors in general, get no weight decay (GPT convention).
/// </summary>
public sealed class AdamW
{
    private readonly List<(string Name, Parameter Param, bool Decay)> _params;
    private readonly Dictionary<string, (Tensor ExpAvg, Tensor ExpAvgSq)> _state = [];

    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        _params = parameters.Where(p => p.Param.requires_grad).Select(p => (p.Name, p.Param, p.Param.dim() >= 2)).ToList();
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Optimizer steps taken (the bias-correction t).</summary>
    public long StepCount { get; private set; }

    public IReadOnlyList<Parameter> Parameters => _params.Select(p => p.Param).ToList();

    public IEnumerable<(string Name, Parameter Param)> NamedParameters => _params.Select(p => (p.Name, p.Param));

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' current gradients.</summary>
    public void Step(double lr)
    {
        StepCount++;
        var bc1 = 1 - Math.Pow(Beta1, StepCount);
        var bc2 = 1 - Math.Pow(Beta2, StepCount);
        using var noGrad = no_grad();
        // Explicit Scalars, alive until the end of the step: an implicit double -> Scalar conversion is freed by the finalizer,
        // which can run while libtorch still reads it (a crash seen in long runs; see docs/benchmarks.md). Also 7 fewer native
        // allocations per parameter.
        using var decayFactor = (1 - lr * WeightDecay).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var sqrtBc2 = Math.Sqrt(bc2).ToScalar();
        using var eps = Eps.ToScalar();
        using var stepSize = (-lr / bc1).ToScalar();
        foreach (var (name, p, decay) in _params)
        {
            var g = p.grad;
            if (g is null) continue;
            if (!_state.TryGetValue(name, out var s))
            {
                s = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                _state[name] = s;
            }
            if (decay && WeightDecay > 0) p.mul_(decayFactor);
            s.ExpAvg.mul_(beta1).add_(g, alpha: oneMinusBeta1);
            s.ExpAvgSq.mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            using var denom = s.ExpAvgSq.sqrt().div_(sqrtBc2).add_(eps, One);
            p.addcdiv_(s.ExpAvg, denom, value: stepSize);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p, _) in _params)
        {
            if (p.grad is { } g)
            {
                g.detach_();
                g.zero_();
            }
        }
    }

    /// <summary>Clips the global L2 norm of all gradients to <paramref name="maxNorm"/> (0 = no clipping); returns the norm before clipping.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = _params.Select(p => p.Param.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        var total = stack(grads.Select(g => g.to_type(ScalarType.Float32).pow(Two).sum())).sum().sqrt().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            // One explicit Scalar for every gradient, alive until the loop ends (why: see Step).
            using var scale = (maxNorm / (total + 1e-6)).ToScalar();
            foreach (var g in grads) g.mul_(scale);
        }
        return total;
    }

    /// <summary>The state as named tensors: "{param}.exp_avg" and "{param}.exp_avg_sq" (safetensors keys).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var (name, (m, v)) in _state)
        {
            yield return KeyValuePair.Create($"{name}.exp_avg", m);
            yield return KeyValuePair.Create($"{name}.exp_avg_sq", v);
        }
    }

    /// <summary>Restores the state saved by <see cref="StateTensors"/> and the step count.</summary>
    public void LoadState(Func<string, Tensor?> read, long stepCount)
    {
        using var noGrad = no_grad();
        foreach (var (name, p, _) in _params)
        {
            var m = read($"{name}.exp_avg");
            var v = read($"{name}.exp_avg_sq");
            if (m is null || v is null) continue;
            _state[name] = (m.to(p.device).to_type(p.dtype).DetachFromDisposeScope(), v.to(p.device).to_type(p.dtype).DetachFromDisposeScope());
        }
        StepCount = stepCount;
    }
}
