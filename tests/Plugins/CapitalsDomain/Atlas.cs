using System.ComponentModel;
using System.Text.Json;
using Microsoft.SemanticKernel;

namespace CapitalsDomain;

/// <summary>The domain's one tool and the facts behind it. Internal, so the plugin loader finds the domain only, not a second tool class.</summary>
internal sealed class Atlas
{
    /// <summary>Countries and their capitals, in a fixed order (the split is by position).</summary>
    internal static readonly IReadOnlyList<(string Country, string Capital)> Capitals =
    [
        ("Argentina", "Buenos Aires"), ("Australia", "Canberra"), ("Austria", "Vienna"), ("Belgium", "Brussels"),
        ("Brazil", "Brasilia"), ("Canada", "Ottawa"), ("Chile", "Santiago"), ("Denmark", "Copenhagen"),
        ("Egypt", "Cairo"), ("Finland", "Helsinki"), ("France", "Paris"), ("Germany", "Berlin"),
        ("Ghana", "Accra"), ("Greece", "Athens"), ("Hungary", "Budapest"), ("Iceland", "Reykjavik"),
        ("India", "New Delhi"), ("Ireland", "Dublin"), ("Italy", "Rome"), ("Japan", "Tokyo"),
        ("Kenya", "Nairobi"), ("Mexico", "Mexico City"), ("Morocco", "Rabat"), ("Nepal", "Kathmandu"),
        ("Norway", "Oslo"), ("Peru", "Lima"), ("Poland", "Warsaw"), ("Portugal", "Lisbon"),
        ("Spain", "Madrid"), ("Sweden", "Stockholm"), ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"),
    ];

    public const string ToolName = "capital_of";

    [KernelFunction(ToolName), Description("The capital city of a country.")]
    public string CapitalOf([Description("The country's English name, e.g. France")] string country)
    {
        foreach (var (name, capital) in Capitals)
        {
            if (string.Equals(name, country.Trim(), StringComparison.OrdinalIgnoreCase))
                return JsonSerializer.Serialize(new Dictionary<string, string> { ["country"] = name, ["capital"] = capital });
        }
        return JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = $"the atlas has no country named {country}" });
    }
}
