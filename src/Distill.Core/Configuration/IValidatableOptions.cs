namespace Distill.Core.Configuration;

/// <summary>Options that check their own values after binding (required values, ranges, consistency).</summary>
public interface IValidatableOptions
{
    /// <summary>Problems with this object's values; <paramref name="path"/> is its configuration path, for messages.</summary>
    IEnumerable<ConfigurationProblem> Validate(string path);
}
