using System.Globalization;
using Distill.Core.Errors;
using Distill.Generation.Recipes;
using Distill.World.Store;
using Distill.World.Tools;
using static Distill.World.Tasks.WorldTiers;

namespace Distill.World.Tasks;

/// <summary>
/// Generates customer requests with ground truth, deterministically: task i of a split (and tier selection) is always the same
/// task, whatever the count. Each split draws only its own orders and expressions (<see cref="WorldSplits"/>), so held-out
/// tasks ask about ids no training text contains. Dev and held-out tasks are distinct questions and a third of them use
/// wordings training never uses; policy questions there are always unseen wordings (a seen one would repeat a training question
/// verbatim).
/// </summary>
public sealed class WorldTaskGenerator(StoreWorld world)
{
    // Training leans on the tiers that copy ids (T1 status, T3 refund, T2 two-step); evaluation cycles through all tiers evenly.
    private static readonly string[] TrainMix = [Status, Refund, Eta, Status, Arithmetic, Refund, Status, Eta, Refund, Policy];

    public IEnumerable<WorldTask> Generate(string split, int count, IReadOnlyList<string>? tiers = null)
    {
        if (!WorldSplits.All.Contains(split, StringComparer.Ordinal))
            throw new DistillException($"unknown world split '{split}'", $"use one of {string.Join(", ", WorldSplits.All)}");
        foreach (var tier in tiers ?? [])
        {
            if (!All.Contains(tier, StringComparer.Ordinal))
                throw new DistillException($"unknown world tier '{tier}'", $"use one or more of {string.Join(",", All)}, e.g. world:heldout:T1,T2");
        }
        var mix = tiers is { Count: > 0 } ? tiers : split == WorldSplits.Train ? TrainMix : All;
        return Tasks(split, count, mix);
    }

    private IEnumerable<WorldTask> Tasks(string split, int count, IReadOnlyList<string> mix)
    {
        var random = new Random(split switch { WorldSplits.Train => 1234, WorldSplits.Dev => 4321, _ => 98765 });
        var pools = new Pools(world, split, random);
        var evaluation = split != WorldSplits.Train;
        var questions = new HashSet<string>(StringComparer.Ordinal);
        var exhausted = new HashSet<string>(StringComparer.Ordinal);
        var made = 0;
        for (var i = 0; made < count && exhausted.Count < mix.Distinct().Count(); i++)
        {
            var tier = mix[i % mix.Count];
            if (exhausted.Contains(tier)) continue;
            var unseen = evaluation && (tier == Policy || i / mix.Count % 3 == 2);
            WorldTask? task = null;
            // Evaluation tasks must be distinct questions; a tier that cannot make a new one is done.
            for (var attempt = 0; attempt < 50 && task is null; attempt++)
            {
                var candidate = Make(tier, unseen ? split : null, pools, random) with { Id = $"world-{split}-{made:D5}", Split = split };
                // Distinct by the core question: a greeting does not make a new policy question.
                if (!evaluation || questions.Add(candidate.Question)) task = candidate with { Question = Decorate(candidate.Question, random) };
            }
            if (task is null)
            {
                exhausted.Add(tier);
                continue;
            }
            made++;
            // Counted when made, not when attempted: a rejected duplicate must not flip the next refund's wanted outcome.
            if (tier == Refund) pools.RefundsMade++;
            yield return task;
        }
    }

    private static string Decorate(string question, Random random) =>
        WorldPhrasings.Openers[random.Next(WorldPhrasings.Openers.Count)] + question + WorldPhrasings.Closers[random.Next(WorldPhrasings.Closers.Count)];

    /// <param name="unseenSplit">The evaluation split whose unseen wordings to use, or null for seen (training) wordings.</param>
    private WorldTask Make(string tier, string? unseenSplit, Pools pools, Random random)
    {
        var phrasing = unseenSplit is null ? WorldPhrasings.Seen : WorldPhrasings.Unseen;
        string Word(WorldPhrasings.Wordings w)
        {
            var list = unseenSplit is null ? w.Seen : w.UnseenIn(unseenSplit);
            return list[random.Next(list.Count)];
        }
        string Format(string wording, params object[] args) => string.Format(CultureInfo.InvariantCulture, wording, args);

        switch (tier)
        {
            case Arithmetic:
                {
                    var (expression, result) = pools.NextExpression();
                    return Task(tier, Format(Word(WorldPhrasings.Calculator), expression), phrasing,
                        [Call("calculator", ("expression", expression))], [StoreTools.Number(result)], []);
                }
            case Status:
                {
                    var order = pools.Next(pools.AllOrders);
                    return Task(tier, Format(Word(WorldPhrasings.OrderStatus), order.Id), phrasing,
                        [Call("lookup_order", ("order_id", order.Id))], [order.Status], Store.OrderStatus.All.Where(s => s != order.Status).ToList());
                }
            case Eta:
                {
                    var order = pools.Next(pools.ShippedOrders);
                    var eta = world.Shipments[order.TrackingNumber!].EstimatedDelivery;
                    return Task(tier, Format(Word(WorldPhrasings.ShipmentEta), order.Id), phrasing,
                        [Call("lookup_order", ("order_id", order.Id)), Call("track_shipment", ("tracking_number", order.TrackingNumber!))],
                        [StoreTools.Date(eta)], []);
                }
            case Refund:
                {
                    var (reason, phrase) = WorldPhrasings.RefundReasons[random.Next(WorldPhrasings.RefundReasons.Count)];
                    // Alternate eligible and not eligible, so the decision cannot be guessed from the base rate.
                    var wantEligible = pools.RefundsMade % 2 == 0;
                    var order = pools.NextWhere(pools.AllOrders, o => RefundPolicy.Decide(o, world.Products, reason, StoreWorld.Today).Eligible == wantEligible);
                    var decision = RefundPolicy.Decide(order, world.Products, reason, StoreWorld.Today);
                    var wording = Word(WorldPhrasings.Refund);
                    // A reason after "?" starts a sentence.
                    var said = wording.Contains("? {1}", StringComparison.Ordinal) ? char.ToUpperInvariant(phrase[0]) + phrase[1..] : phrase;
                    return Task(tier, Format(wording, order.Id, said), phrasing,
                        [Call("check_refund_eligibility", ("order_id", order.Id), ("reason", reason))],
                        decision.Eligible ? ["eligible", "$" + StoreTools.Money(decision.RefundAmount)] : ["not eligible"],
                        // "is eligible", not "eligible": forbidden facts are substrings, and "eligible" is inside the correct "not eligible".
                        decision.Eligible ? ["not eligible"] : ["is eligible"]);
                }
            case Policy:
                {
                    var question = WorldPhrasings.Policy[random.Next(WorldPhrasings.Policy.Count)];
                    return Task(tier, Word(question.Wordings), phrasing,
                        // Any query wording is fine for a search: the trajectory is judged on the tool and the answer's facts.
                        [new ExpectedToolCall("search_kb", new Dictionary<string, string>())], [question.Fact], []);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(tier), tier, "unknown tier");
        }
    }

    private static WorldTask Task(string tier, string question, string phrasing, IReadOnlyList<ExpectedToolCall> calls,
        IReadOnlyList<string> facts, IReadOnlyList<string> forbidden) =>
        new("", tier, question, calls, facts, forbidden, "", phrasing);

    private static ExpectedToolCall Call(string name, params (string Key, string Value)[] arguments) =>
        new(name, arguments.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal));

    /// <summary>The split's orders and expressions, shuffled once and drawn without replacement (refilled when used up).</summary>
    private sealed class Pools
    {
        private readonly Random _random;
        private readonly string _split;
        private readonly HashSet<string> _expressions = new(StringComparer.Ordinal);
        private readonly Dictionary<IReadOnlyList<Order>, List<Order>> _remaining = [];

        public Pools(StoreWorld world, string split, Random random)
        {
            _random = random;
            _split = split;
            AllOrders = world.OrdersIn(split);
            ShippedOrders = AllOrders.Where(o => o.Status == Store.OrderStatus.Shipped).ToList();
        }

        public IReadOnlyList<Order> AllOrders { get; }
        public IReadOnlyList<Order> ShippedOrders { get; }
        public int RefundsMade { get; set; }

        public Order Next(IReadOnlyList<Order> pool) => NextWhere(pool, _ => true);

        /// <summary>
        /// The next unused order that satisfies <paramref name="wanted"/>; when no unused one does, a used one that does (eligible
        /// orders are few in a small split, and a new reason or wording still makes a new question); any next order when none does.
        /// </summary>
        public Order NextWhere(IReadOnlyList<Order> pool, Func<Order, bool> wanted)
        {
            if (!_remaining.TryGetValue(pool, out var remaining) || remaining.Count == 0)
            {
                remaining = pool.OrderBy(_ => _random.Next()).ToList();
                _remaining[pool] = remaining;
            }
            var index = remaining.FindIndex(o => wanted(o));
            if (index < 0)
            {
                var used = pool.Where(wanted).ToList();
                if (used.Count > 0) return used[_random.Next(used.Count)];
                index = 0;
            }
            var order = remaining[index];
            remaining.RemoveAt(index);
            return order;
        }

        /// <summary>A new expression of this split: two numbers and one of + - *, the larger first so results stay positive.</summary>
        public (string Expression, decimal Result) NextExpression()
        {
            while (true)
            {
                var a = _random.Next(2, 100);
                var b = _random.Next(2, 100);
                (a, b) = (Math.Max(a, b), Math.Min(a, b));
                var op = "+-*"[_random.Next(3)];
                var expression = string.Create(CultureInfo.InvariantCulture, $"{a}{op}{b}");
                if (WorldSplits.Of(expression) != _split || !_expressions.Add(expression)) continue;
                return (expression, op switch { '+' => a + b, '-' => a - b, _ => a * b });
            }
        }
    }
}
