using System.Globalization;

namespace Distill.Generation.Tools;

/// <summary>
/// Evaluates arithmetic (+ - * / parentheses, decimals, unary minus) exactly in decimal, so prices add up to the cent.
/// A recursive-descent parser rather than a scripting engine: nothing but arithmetic can run. Generic: verifiers compare
/// expression arguments by value with it, and a domain's calculator tool can execute with it.
/// </summary>
public static class ArithmeticExpression
{
    public static decimal Evaluate(string expression)
    {
        var parser = new Parser(expression);
        var value = parser.Expression();
        parser.SkipSpaces();
        if (!parser.AtEnd)
        {
            throw new FormatException($"unexpected '{parser.Current}' at position {parser.Position + 1}");
        }
        return value;
    }

    private sealed class Parser(string text)
    {
        public int Position;
        public bool AtEnd => Position >= text.Length;
        public char Current => text[Position];

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(Current))
            {
                Position++;
            }
        }

        public decimal Expression()
        {
            var value = Term();
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (Current != '+' && Current != '-'))
                {
                    return value;
                }
                var op = text[Position++];
                var right = Term();
                value = op == '+' ? value + right : value - right;
            }
        }

        private decimal Term()
        {
            var value = Factor();
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (Current != '*' && Current != '/'))
                {
                    return value;
                }
                var op = text[Position++];
                var right = Factor();
                if (op == '/' && right == 0)
                {
                    throw new DivideByZeroException("division by zero");
                }
                value = op == '*' ? value * right : value / right;
            }
        }

        private decimal Factor()
        {
            SkipSpaces();
            if (AtEnd)
            {
                throw new FormatException("the expression ends too early");
            }
            if (Current == '-')
            {
                Position++;
                return -Factor();
            }
            if (Current == '(')
            {
                Position++;
                var inner = Expression();
                SkipSpaces();
                if (AtEnd || Current != ')')
                {
                    throw new FormatException("missing ')'");
                }
                Position++;
                return inner;
            }
            var start = Position;
            while (!AtEnd && (char.IsDigit(Current) || Current == '.'))
            {
                Position++;
            }
            if (start == Position)
            {
                throw new FormatException($"unexpected '{Current}' at position {Position + 1}");
            }
            return decimal.Parse(text[start..Position], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        }
    }
}
