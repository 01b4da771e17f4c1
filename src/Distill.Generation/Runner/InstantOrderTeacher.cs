using System.Globalization;
using Distill.Core.Samples;
using Distill.Generation.Recipes;
using Distill.Teachers;

namespace Distill.Generation.Runner;

/// <summary>
/// A teacher for benchmarks and tests that answers at once: order-total questions from one template (<see cref="Tasks"/>),
/// each answered with the rationale a careful teacher would write and the answer in <c>&lt;answer&gt;</c> tags, so the cot
/// recipe accepts every row. The numbers are the only difference between rows (Jaccard ~0.45 between any two): templated
/// synthetic data as a real run makes it.
/// </summary>
public sealed class InstantOrderTeacher(IReadOnlyList<SeedTask> tasks) : ITeacher
{
    private readonly Dictionary<string, int> _index = tasks.Select((t, i) => (t.Input, i)).ToDictionary(x => x.Input, x => x.i, StringComparer.Ordinal);

    public string Name => "instant";
    public TeacherInfo Info { get; } = new("scripted", "instant-order-totals", null);

    /// <summary>Order-total questions built from one template, with the expected answer (ground truth for the cot verifier).</summary>
    public static IReadOnlyList<SeedTask> Tasks(int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var (quantity, price, discount) = Numbers(i);
            var input = string.Create(CultureInfo.InvariantCulture,
                $"Order {100000 + i} has {quantity} units of item SKU-{i % 97:D3} at ${price:F2} each and a {discount}% member discount. What does the customer pay?");
            return new SeedTask($"order-{i:D7}", input, Total(quantity, price, discount));
        }).ToList();

    /// <summary>The reply to the last user message, which must be one of the tasks' questions.</summary>
    public Task<TeacherResponse> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var question = request.Messages.Last(m => m.Role == ChatRoles.User).Content ?? "";
        if (!_index.TryGetValue(question, out var i))
            throw new TeacherRequestException(Name, "the instant order teacher only knows its own tasks", "use InstantOrderTeacher.Tasks", 400);
        var (quantity, price, discount) = Numbers(i);
        var subtotal = quantity * price;
        var off = subtotal * discount / 100;
        var content = string.Create(CultureInfo.InvariantCulture,
            $"Facts: {quantity} units at ${price:F2} each; the member discount is {discount}%.\nSubtotal: {quantity} x ${price:F2} = ${subtotal:F2}.\n"
            + $"Discount: {discount}% of ${subtotal:F2} = ${off:F2}.\nTotal: ${subtotal:F2} - ${off:F2} = ${Total(quantity, price, discount)}.\n"
            + $"<answer>{Total(quantity, price, discount)}</answer>");
        return Task.FromResult(new TeacherResponse
        {
            Content = content,
            FinishReason = "stop",
            Model = Info.Model,
            TeacherName = Name,
            Teacher = Info,
            Usage = new TeacherUsage(60, 50, 0),
        });
    }

    /// <summary>
    /// The quantity, price and discount follow i mod 23, 400 and 6, so they repeat every 27,600 tasks (their least common
    /// multiple); each later block of 27,600 adds $100 to the price, so no two of the first million tasks ask the same question.
    /// A repeated question is a near-duplicate the filter rejects, and a long <c>--scaling</c> run would otherwise end as a run
    /// of cheap rejects instead of a growing dataset.
    /// </summary>
    private static (int Quantity, double Price, int Discount) Numbers(int i) =>
        (1 + i % 23, 2.5 + (i * 37 % 400) / 4.0 + 100 * (i / RepeatPeriod), 5 * (1 + i % 6));

    private const int RepeatPeriod = 27_600;

    private static string Total(int quantity, double price, int discount) =>
        (quantity * price * (100 - discount) / 100).ToString("F2", CultureInfo.InvariantCulture);
}
