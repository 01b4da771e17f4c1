using Distill.Data.Synthetic;

namespace Distill.Training.Tests;

/// <summary>
/// Entry point of the test assembly when run as a program: the kill -9 resume test starts
/// <c>dotnet Distill.Training.Tests.dll train &lt;config.json&gt;</c> as a real child process (the same library entry point the
/// <c>distill train</c> command calls), so the test needs no separately built CLI. <c>make-dataset &lt;dir&gt; &lt;count&gt;</c>
/// writes synthetic tool-calling traces as a dataset folder, for trying `distill train` by hand.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "train")
        {
            return await Distill.Training.Trainer.TrainerHost.RunFromFileAsync(args[1], new Distill.Training.Trainer.LineLogger(Console.Out.WriteLine));
        }
        if (args.Length == 3 && args[0] == "make-dataset")
        {
            TrainingFixture.WriteDataset(args[1], SyntheticSamples.ToolTraces(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), seed: 1, logprobsTopK: 0));
            return 0;
        }
        Console.Error.WriteLine("usage: Distill.Training.Tests train <config.json> | make-dataset <dir> <count>");
        return 2;
    }
}
