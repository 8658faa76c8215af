// Drives a GTP engine through @sabaki/gtp, the engine controller Sabaki itself uses,
// the way Sabaki does: the attach sequence sent at once, a position synced with the
// state tracker, moves from kata-genmove_analyze, undo by syncing a shorter history,
// errors, and lz-analyze interrupted with protocol_version (Sabaki's abort).
//
// Usage: node drive.mjs ENGINE [ARGS...]   (tests/test_sabaki.py runs it on goai gtp)
// Exits 0 when every check passes; prints what failed otherwise.

import assert from 'node:assert/strict'
import gtp from '@sabaki/gtp'

const {Controller, ControllerStateTracker} = gtp
const [command, ...engineArgs] = process.argv.slice(2)
if (!command) {
  console.error('usage: node drive.mjs ENGINE [ARGS...]')
  process.exit(2)
}

const controller = new Controller(command, engineArgs)
const tracker = new ControllerStateTracker(controller)
const stderr = []
controller.on('stderr', ({content}) => stderr.push(content))

const send = (name, ...args) => controller.sendCommand({name, args})
const VERTEX = /^([A-HJ-T]([1-9]|1[0-9])|pass)$/i

async function waitFor(condition, what, seconds = 20) {
  for (let waited = 0; !condition(); waited += 0.05) {
    if (waited > seconds) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

// Sabaki's reading of an analysis line (src/modules/analysis.js, simplified).
function parseAnalysis(line) {
  return line
    .split(/\s*info\s+/)
    .slice(1)
    .map(chunk => {
      const words = chunk.trim().split(/\s+/)
      const value = key => words[words.indexOf(key) + 1]
      return {
        move: value('move'),
        visits: +value('visits'),
        winrate: +value('winrate'),
        pv: words.slice(words.indexOf('pv') + 1)
      }
    })
}

async function main() {
  controller.start()

  // 1. Attach: Sabaki sends these four at once and needs them answered quickly.
  const started = Date.now()
  const [name, version, protocol, list] = await Promise.all(
    ['name', 'version', 'protocol_version', 'list_commands'].map(n => send(n))
  )
  console.log(`attach answered in ${Date.now() - started} ms`)
  assert.equal(name.content, 'goai')
  assert.match(version.content, /^\d+\.\d+/)
  assert.equal(protocol.content, '2')
  const commands = list.content.split('\n').map(x => x.trim())
  for (const needed of ['lz-analyze', 'kata-analyze', 'kata-genmove_analyze', 'undo',
    'set_free_handicap', 'komi', 'time_settings']) {
    assert.ok(commands.includes(needed), `list_commands lacks ${needed}`)
  }
  assert.ok(!commands.includes('analyze'), 'bare analyze must not be listed (Sabaki >= 0.60)')

  // 2. Sync a position: komi, board size, time settings, then the moves as plays.
  const history = [
    {name: 'play', args: ['B', 'Q16']},
    {name: 'play', args: ['W', 'D4']},
    {name: 'play', args: ['B', 'Q3']}
  ]
  const state = {
    komi: 6.5,
    boardsize: [19, 19],
    timeSettings: {mainTime: 600, byoyomiTime: 30, byoyomiStones: 5},
    history
  }
  await tracker.sync(state)

  // 3. A short game: Sabaki asks kata-genmove_analyze (first in its preference list).
  for (let turn = 0; turn < 6; turn++) {
    const color = turn % 2 === 0 ? 'W' : 'B'
    let move = null
    let infoLines = 0
    const response = await controller.sendCommand(
      {name: 'kata-genmove_analyze', args: [color, '50']},
      ({line}) => {
        if (line.startsWith('info')) infoLines++
        const match = line.trim().match(/^play\s+(.*)$/)
        if (match) move = match[1]
      }
    )
    assert.ok(!response.error, response.content)
    assert.match(move, VERTEX)
    assert.ok(infoLines > 0, 'no analysis line before the move')
    history.push({name: 'play', args: [color, move]})
  }
  await waitFor(() => tracker.state.history.length === history.length, 'tracked moves')

  // 4. Undo: syncing a history two moves shorter sends two undo commands.
  const sent = []
  const record = ({command}) => sent.push(command.name)
  controller.on('command-sent', record)
  await tracker.sync({...state, history: history.slice(0, -2)})
  controller.removeListener('command-sent', record)
  assert.deepEqual(sent, ['undo', 'undo'])

  // 5. Errors come back as GTP errors with the canonical texts, and nothing breaks.
  const errors = [
    [['play', 'B', 'Q16'], 'illegal move'],
    [['boardsize', '9'], 'unacceptable size'],
    [['frobnicate'], 'unknown command'],
    [['genmove'], 'syntax error']
  ]
  for (const [[commandName, ...args], text] of errors) {
    const response = await send(commandName, ...args)
    assert.ok(response.error, `${commandName} should fail`)
    assert.equal(response.content, text)
  }
  await tracker.sync({...state, history: history.slice(0, -2)})

  // 6. lz-analyze streams until Sabaki interrupts it with protocol_version.
  const infoLines = []
  const analysis = controller.sendCommand({name: 'lz-analyze', args: ['B', '10']}, ({line}) => {
    if (line.startsWith('info')) infoLines.push(line)
  })
  await waitFor(() => infoLines.length >= 2, 'two analysis updates')
  const [finished, interrupt] = await Promise.all([analysis, send('protocol_version')])
  assert.ok(!finished.error)
  assert.equal(interrupt.content, '2')
  // The search's candidates: each with visits, best first, its variation starting with
  // it; the tree grows from one update to the next.
  const candidates = parseAnalysis(infoLines[infoLines.length - 1])
  assert.ok(candidates.length >= 1, 'no candidates')
  for (const candidate of candidates) {
    assert.match(candidate.move, VERTEX)
    assert.ok(candidate.visits >= 1 && candidate.winrate >= 0 && candidate.winrate <= 10000)
    assert.equal(candidate.pv[0], candidate.move)
  }
  const total = line => parseAnalysis(line).reduce((sum, c) => sum + c.visits, 0)
  assert.ok(total(infoLines[infoLines.length - 1]) > total(infoLines[0]), 'the search did not grow')
  console.log(`lz-analyze: ${infoLines.length} updates, ${candidates.length} candidates, ` +
    `best ${candidates[0].move} (${candidates[0].visits} visits)`)

  // 7. Quit as Sabaki does: the engine must exit by itself within 3 s, quietly.
  const stopped = new Promise(resolve => controller.once('stopped', resolve))
  await controller.stop(3000)
  const {signal: exitCode} = await stopped
  assert.equal(exitCode, 0, 'engine did not exit cleanly on quit')
  assert.deepEqual(stderr, [], 'engine wrote to stderr')
  console.log('sabaki drive: all checks passed')
}

main().catch(async error => {
  console.error(error)
  await controller.kill()
  process.exit(1)
})
