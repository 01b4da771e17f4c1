namespace Distill.Core.Configuration;

/// <summary>Where each stage keeps its files. Relative paths are relative to the current folder.</summary>
public sealed class PathsOptions : IValidatableOptions
{
    /// <summary>Folder of generated datasets (one subfolder per dataset: shards, manifest, lineage, curation file).</summary>
    public string Datasets { get; set; } = "datasets";

    /// <summary>Folder of training and evaluation runs (checkpoints, logs, charts, reports).</summary>
    public string Runs { get; set; } = "runs";

    /// <summary>
    /// Folder of versioned prompt templates (`distill templates list` reads it). Left at the default and absent from the current
    /// folder, the templates shipped beside the program are used, so an installed `distill` runs anywhere.
    /// </summary>
    public string Prompts { get; set; } = DefaultPrompts;

    public const string DefaultPrompts = "prompts";

    /// <summary>The templates that ship with Distill, beside the program (the build and the tool package put them there).</summary>
    public static string ShippedPrompts => Path.Combine(AppContext.BaseDirectory, DefaultPrompts);

    /// <summary>
    /// The prompt folder to read: <see cref="Prompts"/>, except that the default, when the current folder has no such folder,
    /// means the shipped templates. A folder set by the user is taken as it is, so a typo still gets its clear error.
    /// </summary>
    public string PromptsFolder() => PromptsFolder(Directory.GetCurrentDirectory(), ShippedPrompts);

    /// <summary><see cref="PromptsFolder()"/> for a given current folder and shipped folder.</summary>
    public string PromptsFolder(string currentFolder, string shippedPrompts) =>
        Prompts == DefaultPrompts && !Directory.Exists(Path.Combine(currentFolder, Prompts)) && Directory.Exists(shippedPrompts) ? shippedPrompts : Prompts;

    /// <summary>Raw teacher responses and other re-derivable state.</summary>
    public string Cache { get; set; } = ".distill/cache";

    public IEnumerable<ConfigurationProblem> Validate(string path)
    {
        foreach (var (name, value) in new[] { (nameof(Datasets), Datasets), (nameof(Runs), Runs), (nameof(Prompts), Prompts), (nameof(Cache), Cache) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                yield return new($"{path}:{name}", null, "must not be empty");
            }
            else if (value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            {
                yield return new($"{path}:{name}", null, $"'{value}' is not a valid path");
            }
        }
    }
}
