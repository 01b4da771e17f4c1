using System.Diagnostics;
using Distill.Training.Metrics;
using Distill.Training.Trainer;

namespace Distill.Training.Tests.Trainer;

/// <summary>
/// The real thing: a training process is killed with SIGKILL right after it wrote a checkpoint, then started again on the same
/// run folder; its metrics.jsonl must equal an uninterrupted run's. The child is this test assembly run as a program
/// (Program.Main: `train &lt;config&gt;`), which calls the same TrainerHost entry point as `distill train`.
/// </summary>
[Collection(TrainingCollection.Name)]
public class ResumeAfterKillTests(TrainingFixture fx)
{
    private static Process Start(string config)
    {
        var dll = typeof(ResumeAfterKillTests).Assembly.Location;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "exec", dll, "train", config }) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    private static List<double> Losses(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName)).Where(r => r.Kind == "train").Select(r => r["loss"]!.Value).ToList();

    [Fact]
    public void Resume_after_kill_9_continues_the_same_loss_curve()
    {
        const int steps = 200;
        var reference = fx.NewDir("uninterrupted");
        var killed = fx.NewDir("killed");
        var refConfig = fx.WriteConfig(reference, o => { o["steps"] = steps; o["checkpoint_every"] = 10; o["eval"]!["every"] = 50; o["log_every"] = 5; });
        var killConfig = fx.WriteConfig(killed, o => { o["steps"] = steps; o["checkpoint_every"] = 10; o["eval"]!["every"] = 50; o["log_every"] = 5; });

        using (var child = Start(refConfig))
        {
            var output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            Assert.True(child.ExitCode == 0, output + child.StandardError.ReadToEnd());
        }

        using (var child = Start(killConfig))
        {
            // Read the progress lines; "step 35/N" is printed after the checkpoint of step 30 was written. Then SIGKILL: no chance to
            // clean up or flush anything.
            string? line;
            while ((line = child.StandardOutput.ReadLine()) is not null && !line.StartsWith($"step 35/{steps}", StringComparison.Ordinal))
            {
            }
            Assert.NotNull(line);
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        var stateAtKill = Checkpoint.ReadState(Checkpoint.Find(killed)!);
        Assert.InRange(stateAtKill.Step, 30, steps - 1);

        using (var child = Start(killConfig))
        {
            var output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            Assert.True(child.ExitCode == 0, output + child.StandardError.ReadToEnd());
            Assert.Contains($"resuming {killed} at step {stateAtKill.Step}", output);
        }

        var expected = Losses(reference);
        var actual = Losses(killed);
        Assert.Equal(steps, expected.Count);
        Assert.Equal(steps, actual.Count);
        for (var i = 0; i < steps; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"step {i + 1}: {expected[i]} vs {actual[i]}");
    }
}
