// Drives `distill serve` with the official `openai` npm package: a tool-calling request with logprobs, then a stream.
// Usage: node client.mjs <baseURL> <apiKey>; prints one JSON line with what it saw.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const tools = [{
  type: "function",
  function: { name: "lookup_order", description: "Find an order", parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } },
}];
const toolTurn = await client.chat.completions.create({
  model: "scripted", messages: [{ role: "user", content: "order 42" }], tools, logprobs: true, top_logprobs: 2,
});
const call = toolTurn.choices[0].message.tool_calls[0];

const answer = await client.chat.completions.create({
  model: "scripted", logprobs: true, top_logprobs: 2,
  messages: [
    { role: "user", content: "order 42" },
    { role: "assistant", content: null, tool_calls: [call] },
    { role: "tool", tool_call_id: call.id, content: "shipped" },
  ],
});

let streamed = "";
const stream = await client.chat.completions.create({ model: "scripted", messages: [{ role: "user", content: "hi there" }], stream: true });
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";

console.log(JSON.stringify({
  finish: toolTurn.choices[0].finish_reason,
  tool: call.function.name,
  args: JSON.parse(call.function.arguments),
  answer: answer.choices[0].message.content,
  topLogprobs: answer.choices[0].logprobs.content[0].top_logprobs.length,
  streamed,
}));
