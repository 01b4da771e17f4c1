using static TorchSharp.torch;

namespace Distill.Models.Performance;

/// <summary>
/// libtorch's intra-op threads during a decode step on CPU (one new token per row, few rows). Every op of such a step is tiny,
/// and forking and joining OpenMP threads costs more than splitting saves: scaled_dot_product_attention over 4 heads of 144
/// cached tokens took 45 µs on 2 threads and 11 µs on one. The exception is a matrix-vector product over a large weight, which
/// is bound by memory bandwidth and does gain from a second thread (<see cref="Llama.InferenceLinear"/>'s split-K). So a step
/// runs on one thread (<see cref="OneThreadStep"/>) and split-K widens again for its one batched matmul (<see cref="Wide"/>).
/// libtorch keeps the count per OS thread (OpenMP's nthreads ICV, MKL's local setting): other threads are unaffected.
/// <para>Measured on 2 cores, world-teacher, 128 new tokens, alternating in one process: batch 1 467 -> 509 tokens/s, batch 8
/// 1,244 -> 1,633, batch 32 2,093 -> 2,559 (best of 6 each).</para>
/// </summary>
public static class DecodeThreads
{
    [ThreadStatic] private static int t_threadsBeforeStep; // 0 outside a step

    /// <summary>Threads a split-K product may use: the count before the step, or libtorch's current count outside one.</summary>
    public static int Available => t_threadsBeforeStep > 0 ? t_threadsBeforeStep : get_num_threads();

    /// <summary>One intra-op thread until disposed (nothing changes when there is only one, or inside another step).</summary>
    public static Restore OneThreadStep()
    {
        var threads = get_num_threads();
        if (threads <= 1 || t_threadsBeforeStep > 0) return default;
        t_threadsBeforeStep = threads;
        set_num_threads(1);
        return new Restore(threads, leavesStep: true);
    }

    /// <summary>
    /// One intra-op thread for everything this OS thread runs until disposed, prefills and split-K included (nothing changes
    /// inside a step or another such scope): for a decoding loop that shares the cores with other loops, one copy of the model
    /// per core, where a second thread only contends with the other loops. Measured on the quickstart's trace stage (2 cores,
    /// two copies): 19.6 traces/s with two-thread prefills, 21.9 with one thread everywhere.
    /// </summary>
    public static Restore OneThreadThroughout()
    {
        if (t_threadsBeforeStep > 0) return default;
        var threads = get_num_threads();
        t_threadsBeforeStep = 1; // Available = 1: no split-K; OneThreadStep and Wide change nothing
        set_num_threads(1);
        return new Restore(threads, leavesStep: true);
    }

    /// <summary>Inside a step: the threads from before the step until disposed. Outside one: nothing changes.</summary>
    public static Restore Wide()
    {
        if (t_threadsBeforeStep <= 1) return default;
        set_num_threads(t_threadsBeforeStep);
        return new Restore(1, leavesStep: false);
    }

    public readonly struct Restore(int threads, bool leavesStep) : IDisposable
    {
        public void Dispose()
        {
            if (threads == 0) return;
            set_num_threads(threads);
            if (leavesStep) t_threadsBeforeStep = 0;
        }
    }
}
