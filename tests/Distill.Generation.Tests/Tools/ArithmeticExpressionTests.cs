using System.Globalization;
using Distill.Generation.Tools;

namespace Distill.Generation.Tests.Tools;

public sealed class ArithmeticExpressionTests
{
    [Theory]
    [InlineData("2 + 3 * 4", "14")]
    [InlineData("(2 + 3) * 4", "20")]
    [InlineData("-(2 - 5)", "3")]
    [InlineData("3 * 24.99 * 0.9", "67.473")]
    [InlineData("10 / 4", "2.5")]
    public void Evaluates_with_precedence_exactly(string expression, string expected)
    {
        Assert.Equal(decimal.Parse(expected, CultureInfo.InvariantCulture), ArithmeticExpression.Evaluate(expression));
    }

    [Theory]
    [InlineData("2 +")]
    [InlineData("(1 + 2")]
    [InlineData("import os")]
    public void Rejects_what_is_not_an_expression(string expression)
    {
        Assert.Throws<FormatException>(() => ArithmeticExpression.Evaluate(expression));
    }
}
