using System.Text;

namespace Distill.World.Store;

/// <summary>
/// Which split a world entity (an order, an arithmetic expression) belongs to, by a seeded hash of its key: 80% train, 10% dev,
/// 10% held-out. A hash rather than a pattern of the id, so held-out ids look exactly like training ids (no digit or suffix gives
/// them away) and no held-out id can appear in demonstrations, teacher traces or the tokenizer's corpus, which are all built
/// from train tasks.
/// </summary>
public static class WorldSplits
{
    public const string Train = "train";
    public const string Dev = "dev";
    public const string HeldOut = "heldout";

    public static readonly IReadOnlyList<string> All = [Train, Dev, HeldOut];

    private const string Salt = "distill-world-v2";

    public static string Of(string key)
    {
        var bucket = Fnv1a($"{Salt}:{key}") % 100;
        return bucket < 80 ? Train : bucket < 90 ? Dev : HeldOut;
    }

    // FNV-1a: stable across processes and .NET versions, unlike string.GetHashCode.
    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return hash;
    }
}
