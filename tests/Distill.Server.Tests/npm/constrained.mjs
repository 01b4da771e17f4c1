// Drives `distill serve` over a randomly initialised model with the official `openai` npm package: tool_choice "required"
// with logprobs, then a named function streamed. The model's weights are random, so only constrained decoding makes these
// tool calls well formed. Usage: node constrained.mjs <baseURL> <model> <toolsJson>; prints one JSON line with what it saw.
import OpenAI from "openai";

const [baseURL, model, toolsJson] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const tools = JSON.parse(toolsJson);

const required = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "What is the weather in Paris?" }], tools, tool_choice: "required",
  logprobs: true, top_logprobs: 2, temperature: 1, seed: 7, max_tokens: 160,
});
const call = required.choices[0].message.tool_calls[0];

let streamedName = "", streamedArgs = "", streamedFinish = null, streamedLogprobs = 0;
const stream = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Ping?" }], tools, stream: true, logprobs: true, max_tokens: 160,
  tool_choice: { type: "function", function: { name: "weather" } }, temperature: 1, seed: 3,
});
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (!choice) continue;
  for (const t of choice.delta?.tool_calls ?? []) {
    streamedName += t.function?.name ?? "";
    streamedArgs += t.function?.arguments ?? "";
  }
  streamedLogprobs += choice.logprobs?.content?.length ?? 0;
  streamedFinish = choice.finish_reason ?? streamedFinish;
}

console.log(JSON.stringify({
  finish: required.choices[0].finish_reason,
  name: call.function.name,
  args: call.function.arguments,
  logprobs: required.choices[0].logprobs.content.length,
  completionTokens: required.usage.completion_tokens,
  topLogprobs: required.choices[0].logprobs.content[0].top_logprobs.length,
  streamedName, streamedArgs, streamedFinish, streamedLogprobs,
}));
