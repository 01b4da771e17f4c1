using System.Text.Json.Nodes;

namespace Distill.Cli.Commands;

/// <summary>
/// The quickstart's teacher as shipped with Distill (models/quickstart-teacher in the repository, copied beside the `distill`
/// assembly by the build and into the tool package): the folder `distill quickstart` trained into its cache, with the
/// provenance file that records the command, config, seed, build and recipe key. A quickstart whose recipe key matches starts
/// from it instead of spending most of its time training the teacher; `--retrain-teacher` and `bench quality` train their own.
/// </summary>
public static class ShippedTeacher
{
    public const string ProvenanceFile = "quickstart-teacher.json";

    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "models", "quickstart-teacher");

    /// <summary>The recipe key the shipped teacher was trained with, or null when none is shipped (or its provenance is unreadable).</summary>
    public static string? Key(string folder)
    {
        var provenance = Path.Combine(folder, ProvenanceFile);
        if (!File.Exists(provenance)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(provenance))?["key"]?.GetValue<string>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Copies the shipped teacher into <paramref name="cacheFolder"/> when its recipe key is <paramref name="key"/>; false when it is not (or none is shipped).</summary>
    public static bool TryCopy(string shipped, string key, string cacheFolder)
    {
        if (Key(shipped) != key) return false;
        var staging = cacheFolder + ".copying";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        foreach (var file in Directory.EnumerateFiles(shipped, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(staging, Path.GetRelativePath(shipped, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        // The provenance file lands last, by a rename of the whole folder: a copy cut short is never taken for a cached teacher.
        if (Directory.Exists(cacheFolder)) Directory.Delete(cacheFolder, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(cacheFolder)!);
        Directory.Move(staging, cacheFolder);
        return true;
    }
}
