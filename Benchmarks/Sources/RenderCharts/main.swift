import DriverWorkloads
import Foundation

// Draws the charts in docs/images/ from results/*.json (written by store-ratios and
// snapshot-ratios): SVG line charts, no dependencies. Run from Benchmarks/:
//
//     swift run -c release render-charts [OUTPUT_DIRECTORY]   (default ../docs/images)

let output = URL(filePath: CommandLine.arguments.dropFirst().first ?? "../docs/images")

/// One line of a chart: a name, a colour, points.
struct Series {
    var name: String
    var color: String
    var points: [(x: Double, y: Double)]
    var dashed = false
}

/// A line chart with labelled axes, linear or logarithmic on each.
struct LineChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var logX: Bool
    var logY: Bool
    var series: [Series]

    let width = 720.0
    let height = 440.0
    let margin = (left: 80.0, right: 190.0, top: 50.0, bottom: 60.0)

    func svg() -> String {
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) }
        guard let minX = xs.min(), let maxX = xs.max(), let maxYValue = ys.max(), let minYValue = ys.min() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
        }
        let (x0, x1) = logX ? (floorPower(minX), ceilPower(maxX)) : (0.0, maxX * 1.05)
        let (y0, y1) = logY ? (floorPower(minYValue), ceilPower(maxYValue)) : (0.0, maxYValue * 1.15)
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func scale(_ value: Double, _ low: Double, _ high: Double, log: Bool) -> Double {
            log ? (log10(value) - log10(low)) / (log10(high) - log10(low)) : (value - low) / (high - low)
        }
        func px(_ x: Double) -> Double { margin.left + scale(x, x0, x1, log: logX) * plotWidth }
        func py(_ y: Double) -> Double { margin.top + plotHeight - scale(y, y0, y1, log: logY) * plotHeight }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="28" text-anchor="middle" font-size="16" font-weight="bold">\(escape(title))</text>

            """
        // Grid and ticks.
        for tick in ticks(x0, x1, log: logX) {
            let x = px(tick)
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(margin.top))\" x2=\"\(f(x))\" y2=\"\(f(margin.top + plotHeight))\" stroke=\"#e4e4e4\"/>\n"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(margin.top + plotHeight + 18))\" text-anchor=\"middle\">\(label(tick))</text>\n"
        }
        for tick in ticks(y0, y1, log: logY) {
            let y = py(tick)
            svg +=
                "<line x1=\"\(f(margin.left))\" y1=\"\(f(y))\" x2=\"\(f(margin.left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(margin.left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label(tick))</text>\n"
        }
        svg +=
            "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
        svg +=
            "<text x=\"\(f(margin.left + plotWidth / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text transform=\"translate(18 \(f(margin.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        // Lines, points and the legend.
        for (index, line) in series.enumerated() {
            let path = line.points.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2.5\"\(dash)/>\n"
            for point in line.points {
                svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3.5\" fill=\"\(line.color)\"/>\n"
            }
            let legendY = margin.top + 10 + Double(index) * 22
            let legendX = margin.left + plotWidth + 14
            svg +=
                "<line x1=\"\(f(legendX))\" y1=\"\(f(legendY))\" x2=\"\(f(legendX + 22))\" y2=\"\(f(legendY))\" stroke=\"\(line.color)\" stroke-width=\"2.5\"\(dash)/>\n"
            svg += "<text x=\"\(f(legendX + 28))\" y=\"\(f(legendY + 4))\">\(escape(line.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private func ticks(_ low: Double, _ high: Double, log: Bool) -> [Double] {
        if log {
            var values: [Double] = []
            var value = low
            while value <= high * 1.0001 {
                values.append(value)
                value *= 10
            }
            return values
        }
        let rough = (high - low) / 6
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].map { $0 * power }.first { $0 >= rough } ?? rough
        return stride(from: low, through: high, by: step).map { $0 }
    }

    private func floorPower(_ value: Double) -> Double { pow(10, floor(log10(max(value, 1e-9)))) }
    private func ceilPower(_ value: Double) -> Double { pow(10, ceil(log10(max(value, 1e-9)))) }
    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
    private func label(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%gM", value / 1_000_000) }
        if value >= 1_000 { return String(format: "%gk", value / 1_000) }
        return String(format: "%g", value)
    }
    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}

struct StoreResults: Codable {
    struct WriteRow: Codable {
        var writers: Int
        var plainPerSecond: Double
        var statementNewPerSecond: Double
        var statementExistingPerSecond: Double
        var libraryNewPerSecond: Double
        var libraryExistingPerSecond: Double
    }
    var writes: [WriteRow]
}

struct SnapshotResults: Codable {
    struct LoadRow: Codable {
        var events: Int
        var fullReplayMilliseconds: Double
        var snapshotMilliseconds: Double
    }
    var loads: [LoadRow]
}

try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

let store = try BenchmarkResults.read(StoreResults.self, name: "store-ratios")
let rows = store.writes
let saves = LineChart(
    title: "One-event saves per second by concurrent writers (durable server)",
    xLabel: "concurrent writers", yLabel: "saves (events) per second", logX: false, logY: false,
    series: [
        Series(
            name: "plain SQL (pgbench)", color: "#777777", points: rows.map { (Double($0.writers), $0.plainPerSecond) },
            dashed: true),
        Series(
            name: "Mire statement, new", color: "#1f77b4",
            points: rows.map { (Double($0.writers), $0.statementNewPerSecond) }, dashed: true),
        Series(
            name: "Mire library, new", color: "#1f77b4",
            points: rows.map { (Double($0.writers), $0.libraryNewPerSecond) }),
        Series(
            name: "Mire statement, existing", color: "#d62728",
            points: rows.map { (Double($0.writers), $0.statementExistingPerSecond) }, dashed: true),
        Series(
            name: "Mire library, existing", color: "#d62728",
            points: rows.map { (Double($0.writers), $0.libraryExistingPerSecond) }),
    ])
try saves.svg().write(to: output.appending(path: "save-throughput.svg"), atomically: true, encoding: .utf8)

let snapshots = try BenchmarkResults.read(SnapshotResults.self, name: "snapshot-ratios")
let loads = LineChart(
    title: "Load time by stream length: full replay vs snapshot + tail",
    xLabel: "events in the stream (log scale)", yLabel: "milliseconds per load (log scale)", logX: true, logY: true,
    series: [
        Series(
            name: "full replay", color: "#d62728",
            points: snapshots.loads.map { (Double($0.events), $0.fullReplayMilliseconds) }),
        Series(
            name: "snapshot + tail", color: "#2ca02c",
            points: snapshots.loads.map { (Double($0.events), $0.snapshotMilliseconds) }),
    ])
try loads.svg().write(to: output.appending(path: "load-time.svg"), atomically: true, encoding: .utf8)
print("charts written to \(output.path): save-throughput.svg, load-time.svg")
