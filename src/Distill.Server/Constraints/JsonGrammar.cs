namespace Distill.Server.Constraints;

/// <summary>
/// Where a byte-level parse of constrained text stands: an immutable stack of frames, so checking a candidate token
/// (or a whole trie of them) is feeding bytes to a state and keeping or dropping the result, with no copying.
/// <see cref="Complete"/> is the state after the last byte of the grammar; <see cref="Feed(byte)"/> returns null for a byte that
/// cannot come next.
/// </summary>
public sealed class GrammarState
{
    /// <summary>Everything has been written; only the end of the turn may follow.</summary>
    public static readonly GrammarState Complete = new(null!, null);

    private GrammarState(Frame top, GrammarState? below)
    {
        Top = top;
        Below = below;
    }

    internal Frame Top { get; }
    internal GrammarState? Below { get; }

    public bool IsComplete => ReferenceEquals(this, Complete);

    /// <summary>The innermost frame when it is inside a JSON string with nothing pending (no escape, partial character or marker).</summary>
    internal StringFrame? PlainString => !IsComplete && Top is StringFrame { IsPlain: true } frame ? frame : null;

    /// <summary>Whether the innermost frame is fixed text between JSON values (where added tokens such as &lt;/tool_call&gt; may appear).</summary>
    public bool InLiteral => !IsComplete && Top is LiteralFrame;

    internal static GrammarState Start(Frame outer, Frame? first) =>
        first is null ? new GrammarState(outer, null) : new GrammarState(first, new GrammarState(outer, null));

    /// <summary>The fewest bytes that finish the grammar from here.</summary>
    public int MinRemaining
    {
        get
        {
            var total = 0;
            for (var s = this; s is not null && !s.IsComplete; s = s.Below)
            {
                total += s.Top.MinRemaining;
            }
            return total;
        }
    }

    public GrammarState? Feed(byte b)
    {
        var state = this;
        while (true)
        {
            if (state.IsComplete)
            {
                return null;
            }
            var step = state.Top.Feed(b);
            switch (step.Kind)
            {
                case StepKind.Reject:
                    return null;
                case StepKind.Consumed:
                    return Push(new GrammarState(step.Self!, state.Below), step.Child);
                case StepKind.Delegate:
                    state = new GrammarState(step.Child!, new GrammarState(step.Self!, state.Below));
                    continue;
                case StepKind.Become:
                    state = new GrammarState(step.Child!, state.Below);
                    continue;
                case StepKind.Done:
                    return Finish(state.Below, step.Result);
                case StepKind.DoneRefeed:
                    state = Finish(state.Below, step.Result);
                    continue;
                default:
                    throw new InvalidOperationException($"unknown step {step.Kind}");
            }
        }
    }

    public GrammarState? Feed(ReadOnlySpan<byte> bytes)
    {
        GrammarState? state = this;
        foreach (var b in bytes)
        {
            state = state.Feed(b);
            if (state is null)
            {
                return null;
            }
        }
        return state;
    }

    private static GrammarState Push(GrammarState state, Frame? child) => child is null ? state : new GrammarState(child, state);

    // A frame finished: tell the frames below, which may finish too.
    private static GrammarState Finish(GrammarState? below, int result)
    {
        while (below is not null)
        {
            var step = below.Top.ChildDone(result);
            if (step.Kind == StepKind.Consumed)
            {
                return Push(new GrammarState(step.Self!, below.Below), step.Child);
            }
            result = step.Result;
            below = below.Below;
        }
        return Complete;
    }
}

internal enum StepKind
{
    Reject,
    /// <summary>The byte was taken: Self replaces the frame, and Child (if any) is pushed on it.</summary>
    Consumed,
    /// <summary>Self replaces the frame, Child is pushed and gets the byte.</summary>
    Delegate,
    /// <summary>Child replaces the frame and gets the byte.</summary>
    Become,
    /// <summary>The byte was the frame's last; it is popped and its parent told.</summary>
    Done,
    /// <summary>The frame ended before the byte; it is popped, its parent told, and the byte goes on down.</summary>
    DoneRefeed,
}

internal readonly record struct Step(StepKind Kind, Frame? Self = null, Frame? Child = null, int Result = 0)
{
    public static readonly Step Reject = new(StepKind.Reject);

    public static Step Consumed(Frame self, Frame? child = null) => new(StepKind.Consumed, self, child);
    public static Step Delegate(Frame self, Frame child) => new(StepKind.Delegate, self, child);
    public static Step Become(Frame child) => new(StepKind.Become, Child: child);
    public static Step Done(int result = 0) => new(StepKind.Done, Result: result);
    public static Step DoneRefeed(int result = 0) => new(StepKind.DoneRefeed, Result: result);
}

/// <summary>One level of the parse. Frames are immutable: every step returns new ones.</summary>
internal abstract class Frame
{
    public abstract Step Feed(byte b);

    /// <summary>The child pushed by this frame finished with <paramref name="result"/>: Consumed (continue) or Done (finish too).</summary>
    public virtual Step ChildDone(int result) => throw new InvalidOperationException($"{GetType().Name} has no children");

    /// <summary>Bytes this frame still needs once its child (if any) is finished; the child counts its own.</summary>
    public abstract int MinRemaining { get; }
}

/// <summary>Fixed text that must be written as is.</summary>
internal sealed class LiteralFrame(byte[] text, int position) : Frame
{
    public override Step Feed(byte b)
    {
        if (text[position] != b)
        {
            return Step.Reject;
        }
        return position + 1 == text.Length ? Step.Done() : Step.Consumed(new LiteralFrame(text, position + 1));
    }

    public override int MinRemaining => text.Length - position;
}

/// <summary>One of several fixed texts (enum values, object keys, tool names); finishes with the index of the one written.</summary>
internal sealed class ChoiceFrame : Frame
{
    private readonly byte[][] _options;
    private readonly int[]? _tails;
    private readonly int[] _live;
    private readonly int _position;

    private ChoiceFrame(byte[][] options, int[]? tails, int[] live, int position)
    {
        _options = options;
        _tails = tails;
        _live = live;
        _position = position;
    }

    /// <param name="tails">Per option, the bytes the parent still needs after it (so <see cref="MinRemaining"/> stays exact when the option decides what follows).</param>
    public static ChoiceFrame Create(byte[][] options, int[]? tails) => new(options, tails, Enumerable.Range(0, options.Length).ToArray(), 0);

    public override Step Feed(byte b)
    {
        var live = new List<int>(_live.Length);
        var ended = -1;
        foreach (var i in _live)
        {
            var option = _options[i];
            if (option.Length == _position)
            {
                ended = i;
            }
            else if (option[_position] == b)
            {
                live.Add(i);
            }
        }
        if (live.Count == 0)
        {
            return ended >= 0 ? Step.DoneRefeed(ended) : Step.Reject;
        }
        if (live.Count == 1 && _options[live[0]].Length == _position + 1)
        {
            return Step.Done(live[0]);
        }
        return Step.Consumed(new ChoiceFrame(_options, _tails, live.ToArray(), _position + 1));
    }

    public override int MinRemaining
    {
        get
        {
            var min = int.MaxValue;
            foreach (var i in _live)
            {
                min = Math.Min(min, _options[i].Length - _position + (_tails?[i] ?? 0));
            }
            return min;
        }
    }
}

/// <summary>A value of a <see cref="UnionNode"/>: its first byte picks the member type.</summary>
internal sealed class UnionFrame(UnionNode node) : Frame
{
    public override Step Feed(byte b)
    {
        foreach (var option in node.Options)
        {
            if (option.CanStartWith(b))
            {
                return Step.Become(option.Start());
            }
        }
        return Step.Reject;
    }

    public override int MinRemaining => node.MinBytes;
}

/// <summary>A JSON string: UTF-8 checked byte by byte, escapes checked, length capped, and the chat markers kept out (see <see cref="Forbidden"/>).</summary>
internal sealed class StringFrame : Frame
{
    /// <summary>
    /// Raw text that must not appear inside a string value: the turn parser would take it as the end of the tool call, the
    /// turn or the reasoning. All start with '&lt;' and contain no other '&lt;', which keeps matching a prefix length.
    /// </summary>
    private static readonly byte[][] Forbidden =
        ["</tool_call>"u8.ToArray(), "<|im_end|>"u8.ToArray(), "<|endoftext|>"u8.ToArray(), "</think>"u8.ToArray()];

    private readonly StringNode _node;
    private readonly bool _opened;
    private readonly int _length;
    // 0: plain; 1: after '\'; 2..5: in \uXXXX with (state - 2) hex digits read; 6: after "\uD" (a surrogate must not follow).
    private readonly byte _escape;
    // UTF-8 continuation bytes still due, and the range the next one must fall in.
    private readonly byte _continuations;
    private readonly byte _low;
    private readonly byte _high;
    // How much of a forbidden marker the text ends with, and which marker.
    private readonly byte _markerLength;
    private readonly byte _marker;

    private StringFrame(StringNode node, bool opened, int length, byte escape, byte continuations, byte low, byte high, byte markerLength, byte marker)
    {
        _node = node;
        _opened = opened;
        _length = length;
        _escape = escape;
        _continuations = continuations;
        _low = low;
        _high = high;
        _markerLength = markerLength;
        _marker = marker;
    }

    public static StringFrame Opening(StringNode node) => new(node, false, 0, 0, 0, 0, 0, 0, 0);

    private StringFrame With(int length, byte escape = 0, byte continuations = 0, byte low = 0x80, byte high = 0xBF, byte markerLength = 0, byte marker = 0) =>
        new(_node, true, length, escape, continuations, low, high, markerLength, marker);

    public override Step Feed(byte b)
    {
        if (!_opened)
        {
            return b == (byte)'"' ? Step.Consumed(With(0)) : Step.Reject;
        }
        if (_continuations > 0)
        {
            if (b < _low || b > _high)
            {
                return Step.Reject;
            }
            var left = (byte)(_continuations - 1);
            return Step.Consumed(With(left == 0 ? _length + 1 : _length, continuations: left));
        }
        if (_escape == 1)
        {
            return b switch
            {
                (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' => Step.Consumed(With(_length + 1)),
                (byte)'u' => Step.Consumed(With(_length, escape: 2)),
                _ => Step.Reject,
            };
        }
        if (_escape >= 2)
        {
            if (!IsHex(b))
            {
                return Step.Reject;
            }
            if (_escape == 6 && b is >= (byte)'8' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F')
            {
                return Step.Reject; // \uD800-\uDFFF: a lone surrogate, not a character
            }
            if (_escape == 2 && (b | 0x20) == (byte)'d')
            {
                return Step.Consumed(With(_length, escape: 6));
            }
            var read = _escape == 6 ? 2 : _escape - 1; // hex digits read including this one
            return read == 4 ? Step.Consumed(With(_length + 1)) : Step.Consumed(With(_length, escape: (byte)(read + 2)));
        }
        if (b == (byte)'"')
        {
            return _length >= _node.MinLength ? Step.Done() : Step.Reject;
        }
        if (_length >= _node.MaxLength || b < 0x20)
        {
            return Step.Reject;
        }
        if (b == (byte)'\\')
        {
            return Step.Consumed(With(_length, escape: 1));
        }
        if (b < 0x80)
        {
            return Marker(b) is { } next ? Step.Consumed(With(_length + 1, markerLength: next.Length, marker: next.Marker)) : Step.Reject;
        }
        return b switch
        {
            >= 0xC2 and <= 0xDF => Step.Consumed(With(_length, continuations: 1)),
            0xE0 => Step.Consumed(With(_length, continuations: 2, low: 0xA0)),
            >= 0xE1 and <= 0xEC or 0xEE or 0xEF => Step.Consumed(With(_length, continuations: 2)),
            0xED => Step.Consumed(With(_length, continuations: 2, high: 0x9F)),
            0xF0 => Step.Consumed(With(_length, continuations: 3, low: 0x90)),
            >= 0xF1 and <= 0xF3 => Step.Consumed(With(_length, continuations: 3)),
            0xF4 => Step.Consumed(With(_length, continuations: 3, high: 0x8F)),
            _ => Step.Reject,
        };
    }

    // The marker state after an ASCII byte, or null when it completes a forbidden marker.
    private (byte Length, byte Marker)? Marker(byte b)
    {
        if (_markerLength > 0)
        {
            for (var m = 0; m < Forbidden.Length; m++)
            {
                var marker = Forbidden[m];
                if (marker.Length > _markerLength && marker[_markerLength] == b &&
                    marker.AsSpan(0, _markerLength).SequenceEqual(Forbidden[_marker].AsSpan(0, _markerLength)))
                {
                    return _markerLength + 1 == marker.Length ? null : ((byte)(_markerLength + 1), (byte)m);
                }
            }
        }
        return b == (byte)'<' ? ((byte)1, (byte)0) : ((byte)0, (byte)0);
    }

    /// <summary>Inside the string with no escape, partial UTF-8 character or partial marker pending.</summary>
    public bool IsPlain => _opened && _escape == 0 && _continuations == 0 && _markerLength == 0;

    /// <summary>Characters the string may still take.</summary>
    public int Capacity => _node.MaxLength - _length;

    /// <summary><see cref="MinRemaining"/> after <paramref name="characters"/> more plain characters (from a plain state).</summary>
    public int MinRemainingAfter(int characters) => Math.Max(0, _node.MinLength - _length - characters) + 1;

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    public override int MinRemaining
    {
        get
        {
            if (!_opened)
            {
                return _node.MinBytes;
            }
            var pending = _continuations > 0 ? _continuations : _escape switch { 0 => 0, 1 => 1, 6 => 3, _ => 6 - _escape };
            var owed = Math.Max(0, _node.MinLength - _length - (pending > 0 ? 1 : 0));
            return pending + owed + 1;
        }
    }
}

/// <summary>A JSON number (or integer): -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? with capped digit counts; it ends at the first byte that cannot extend it.</summary>
internal sealed class NumberFrame(NumberNode node, NumberFrame.Phase phase, int digits) : Frame
{
    internal enum Phase { Start, Minus, Zero, Integer, Dot, Fraction, Exponent, ExponentSign, ExponentDigits }

    private bool CanEnd => phase is Phase.Zero or Phase.Integer or Phase.Fraction or Phase.ExponentDigits;

    public override Step Feed(byte b)
    {
        var digit = b is >= (byte)'0' and <= (byte)'9';
        var limits = node.Limits;
        Phase? next = phase switch
        {
            Phase.Start or Phase.Minus when b == (byte)'0' => Phase.Zero,
            Phase.Start or Phase.Minus when digit => Phase.Integer,
            Phase.Start when b == (byte)'-' => Phase.Minus,
            Phase.Integer when digit && digits < limits.MaxIntegerDigits => Phase.Integer,
            Phase.Zero or Phase.Integer when !node.IntegerOnly && b == (byte)'.' => Phase.Dot,
            Phase.Zero or Phase.Integer or Phase.Fraction when !node.IntegerOnly && (b | 0x20) == (byte)'e' => Phase.Exponent,
            Phase.Dot when digit => Phase.Fraction,
            Phase.Fraction when digit && digits < limits.MaxFractionDigits => Phase.Fraction,
            Phase.Exponent when b is (byte)'+' or (byte)'-' => Phase.ExponentSign,
            Phase.Exponent or Phase.ExponentSign when digit => Phase.ExponentDigits,
            Phase.ExponentDigits when digit && digits < limits.MaxExponentDigits => Phase.ExponentDigits,
            _ => null,
        };
        if (next is not { } n)
        {
            return CanEnd ? Step.DoneRefeed() : Step.Reject;
        }
        return Step.Consumed(new NumberFrame(node, n, n == phase ? digits + 1 : digit ? 1 : 0));
    }

    public override int MinRemaining => CanEnd ? 0 : 1;
}

/// <summary>An object of an <see cref="ObjectNode"/>, written <c>{"a": 1, "b": 2}</c>.</summary>
internal sealed class ObjectFrame(ObjectNode node, ObjectFrame.Phase phase, int last) : Frame
{
    internal enum Phase { Open, First, Key, Value, AfterValue, Comma, Space }

    public override Step Feed(byte b) => phase switch
    {
        Phase.Open => b == (byte)'{' ? Step.Consumed(With(Phase.First)) : Step.Reject,
        Phase.First or Phase.AfterValue when b == (byte)'}' => node.RequiredAfter(last) ? Step.Reject : Step.Done(),
        Phase.First or Phase.Space when b == (byte)'"' && node.NextKeys(last).Length > 0 => Step.Delegate(With(Phase.Key), KeyChoice()),
        Phase.AfterValue when b == (byte)',' && node.NextKeys(last).Length > 0 => Step.Consumed(With(Phase.Comma)),
        Phase.Comma when b == (byte)' ' => Step.Consumed(With(Phase.Space)),
        _ => Step.Reject,
    };

    public override Step ChildDone(int result)
    {
        if (phase == Phase.Key)
        {
            var property = node.NextKeys(last)[result];
            return Step.Consumed(new ObjectFrame(node, Phase.Value, property), node.Properties[property].Value.Start());
        }
        return Step.Consumed(With(Phase.AfterValue));
    }

    public override int MinRemaining => phase switch
    {
        Phase.Open => node.MinBytes,
        Phase.First => node.FirstMin(),
        Phase.Key => 0, // the key choice counts the value and the rest of the object
        Phase.Value or Phase.AfterValue => node.RestMin(last),
        Phase.Comma => 1 + node.KeyThenRestMin(last),
        _ => node.KeyThenRestMin(last),
    };

    private ObjectFrame With(Phase next) => new(node, next, last);

    private ChoiceFrame KeyChoice()
    {
        var keys = node.NextKeys(last);
        return ChoiceFrame.Create(
            keys.Select(k => node.Properties[k].KeyLiteral).ToArray(),
            keys.Select(k => node.Properties[k].Value.MinBytes + node.RestMin(k)).ToArray());
    }
}

/// <summary>An array of an <see cref="ArrayNode"/>, written <c>[1, 2]</c>.</summary>
internal sealed class ArrayFrame(ArrayNode node, ArrayFrame.Phase phase, int count) : Frame
{
    internal enum Phase { Open, First, Item, AfterItem, Comma }

    public override Step Feed(byte b) => phase switch
    {
        Phase.Open => b == (byte)'[' ? Step.Consumed(new ArrayFrame(node, Phase.First, 0)) : Step.Reject,
        Phase.First or Phase.AfterItem when b == (byte)']' => count >= node.MinItems ? Step.Done() : Step.Reject,
        Phase.First when node.MaxItems > 0 && node.Items.CanStartWith(b) => Step.Delegate(new ArrayFrame(node, Phase.Item, 0), node.Items.Start()),
        Phase.AfterItem when b == (byte)',' && count < node.MaxItems => Step.Consumed(new ArrayFrame(node, Phase.Comma, count)),
        Phase.Comma when b == (byte)' ' => Step.Consumed(new ArrayFrame(node, Phase.Item, count), node.Items.Start()),
        _ => Step.Reject,
    };

    public override Step ChildDone(int result) => Step.Consumed(new ArrayFrame(node, Phase.AfterItem, count + 1));

    public override int MinRemaining => phase switch
    {
        Phase.Open => node.MinBytes,
        Phase.First => node.MinBytes - 1,
        Phase.Item => ItemsAfter(count + 1) + 1,
        Phase.AfterItem => ItemsAfter(count) + 1,
        _ => 1 + node.Items.MinBytes + ItemsAfter(count + 1) + 1,
    };

    private int ItemsAfter(int written) => Math.Max(0, node.MinItems - written) * (2 + node.Items.MinBytes);
}
