namespace Distill.Training.Tests;

/// <summary>
/// Entry point of the test assembly when run as a program: the kill -9 resume test starts
/// <c>dotnet Distill.Training.Tests.dll train &lt;config.json&gt;</c> as a real child process (the same library entry point the
/// <c>distill train</c> command calls), so the test needs no separately built CLI.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "train")
        {
            return Distill.Training.Trainer.TrainerHost.RunFromFile(args[1], Console.Out);
        }
        Console.Error.WriteLine("usage: Distill.Training.Tests train <config.json>");
        return 2;
    }
}
