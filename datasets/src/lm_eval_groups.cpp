// lm-eval group YAMLs (lm_eval/tasks/_factory.py) and folders of task YAMLs: the tasks they name, as Suites.
#include <algorithm>
#include <map>

#include "lm_eval_files.h"
#include "lmwb/lm_eval_task.h"

namespace lmwb::datasets {

namespace fs = std::filesystem;

bool is_lm_eval_path(const std::string& path) {
    const fs::path p(path);
    if (fs::is_regular_file(p)) return is_yaml(p);
    if (!fs::is_directory(p)) return false;
    for (const auto& e : fs::directory_iterator(p))
        if (is_yaml(e.path())) return true;
    return false;
}

namespace {

// A group YAML's members (lm_eval/tasks/_factory.py _build_group_members): names of tasks, groups or tags found in
// the group's folder, or mappings — {task: name, …} a known task with keys replaced, {task: …} a task defined
// inline (named group::task), {group: …} a group inline. The group's keys other than its own fields replace the
// same keys of every member.
class GroupLoader {
public:
    std::vector<Suite> out;

    void group(const YamlDoc& g, const ojson& overrides, int depth) {
        if (depth > 8) g.fail("group", "groups nested more than 8 deep (a cycle?)");
        const ojson& v = g.value;
        if (!v.contains("task") || !v["task"].is_array()) g.fail("group", "a group lists its tasks under `task`");
        if (v.contains("aggregate_metric_list"))
            g.fail("aggregate_metric_list", "group aggregates are not computed by lmwb: each task's results are reported on their own");
        ojson inherited = ojson::object();
        for (const auto& [k, x] : v.items())
            if (k != "group" && k != "group_alias" && k != "task" && k != "metadata") inherited[k] = x;
        for (const auto& [k, x] : overrides.items()) inherited[k] = x;
        const std::string name = v["group"].is_string() ? v["group"].get<std::string>() : "";
        for (const auto& entry : v["task"]) {
            if (entry.is_string()) {
                member(g, entry.get<std::string>(), inherited, depth);
            } else if (entry.is_object() && entry.contains("group")) {
                if (!entry["group"].is_string()) g.fail("task", "an inline group's `group` is its name");
                ojson rest = inherited;
                for (const auto& [k, x] : entry.items())
                    if (k != "group") rest[k] = x;
                if (find(g, entry["group"], "group").empty()) {  // a group defined inline
                    YamlDoc sub = inline_doc(g, entry);
                    sub.value["group"] = name + "::" + entry["group"].get<std::string>();
                    group(sub, inherited, depth + 1);
                } else {
                    member(g, entry["group"], rest, depth);
                }
            } else if (entry.is_object() && entry.contains("task") && entry["task"].is_string()) {
                ojson rest = inherited;
                for (const auto& [k, x] : entry.items()) rest[k] = x;
                if (!find(g, entry["task"], "task").empty()) {
                    member(g, entry["task"], rest, depth);
                } else {  // a task defined inline
                    YamlDoc t = inline_doc(g, rest);
                    t.value["task"] = name + "::" + entry["task"].get<std::string>();
                    const std::string key = g.file + "#" + t.value["task"].get<std::string>();
                    add_task(std::move(t), key);
                }
            } else {
                g.fail("task", "group entries are task, group or tag names, or mappings with `task` or `group`");
            }
        }
    }

    void add_task(YamlDoc y, const std::string& key) {
        if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) return;
        seen_.push_back(key);
        for (auto& s : build_task(std::move(y))) out.push_back(std::move(s));
    }

private:
    // YAMLs next to the group whose `what` (task, group, tag) is `name`.
    std::vector<fs::path> find(const YamlDoc& g, const std::string& name, const std::string& what) {
        const fs::path dir = fs::path(g.file).parent_path();
        std::vector<fs::path> found;
        if (what == "task" && is_yaml(name) && fs::is_regular_file(dir / name)) return {dir / name};
        auto listed = files_.find(dir.string());  // each folder listed once
        if (listed == files_.end()) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(dir))
                if (is_yaml(e.path())) files.push_back(e.path());
            std::sort(files.begin(), files.end());
            listed = files_.emplace(dir.string(), std::move(files)).first;
        }
        for (const auto& f : listed->second) {
            if (f == fs::path(g.file)) continue;
            const ojson& v = index(f);
            const ojson x = v.value(what, ojson());
            if (x == name || (what == "tag" && x.is_array() && std::find(x.begin(), x.end(), ojson(name)) != x.end())) found.push_back(f);
        }
        return found;
    }
    const ojson& index(const fs::path& f) {
        auto it = index_.find(f.string());
        if (it == index_.end()) it = index_.emplace(f.string(), read_yaml(f).value).first;
        return it->second;
    }

    void member(const YamlDoc& g, const std::string& name, const ojson& overrides, int depth) {
        if (auto tasks = find(g, name, "task"); !tasks.empty()) {
            YamlDoc t = read_task_yaml(tasks.front());
            for (const auto& [k, x] : overrides.items()) {
                t.value[k] = x;
                t.lines.erase(k);  // (set by the group, not this file)
            }
            add_task(std::move(t), tasks.front().string() + (overrides.empty() ? "" : "#" + overrides.dump()));
        } else if (auto groups = find(g, name, "group"); !groups.empty()) {
            group(read_yaml(groups.front()), overrides, depth + 1);
        } else if (auto tagged = find(g, name, "tag"); !tagged.empty()) {
            for (const auto& f : tagged) {
                YamlDoc t = read_task_yaml(f);
                for (const auto& [k, x] : overrides.items()) t.value[k] = x, t.lines.erase(k);
                add_task(std::move(t), f.string() + (overrides.empty() ? "" : "#" + overrides.dump()));
            }
        } else {
            g.fail("task", "no task, group or tag named '" + name + "' next to the group");
        }
    }

    // A mapping in the group's task list as a task YAML of its own: paths relative to the group, errors at the line
    // of the group's task list.
    static YamlDoc inline_doc(const YamlDoc& g, const ojson& value) {
        YamlDoc d;
        d.file = g.file;
        d.value = value;
        if (value.contains("include")) {
            if (!value["include"].is_string()) g.fail("task", "include: expected a file name");
            const fs::path base_path = fs::path(g.file).parent_path() / value["include"].get<std::string>();
            if (!fs::exists(base_path)) g.fail("task", "include: " + base_path.string() + " does not exist");
            d.value = read_task_yaml(base_path).value;
            for (const auto& [k, x] : value.items())
                if (k != "include") d.value[k] = x;
        }
        for (const auto& [k, x] : d.value.items()) d.lines[k] = g.line_of("task");
        return d;
    }

    std::vector<std::string> seen_;
    std::map<std::string, ojson> index_;
    std::map<std::string, std::vector<fs::path>> files_;
};

}  // namespace

std::vector<Suite> load_lm_eval_tasks(const std::string& path) {
    const fs::path p(path);
    std::vector<fs::path> files;
    if (fs::is_directory(p)) {
        for (const auto& e : fs::directory_iterator(p))
            if (is_yaml(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(p);
    }
    GroupLoader loader;
    for (const auto& f : files) {
        YamlDoc y = read_task_yaml(f);
        if (y.value.contains("group")) {
            for (const auto& [k, x] : y.value.items())
                if (k != "group" && k != "group_alias" && k != "task" && k != "metadata" && k != "aggregate_metric_list" &&
                    !is_task_key(k))
                    y.fail(k, "not supported by lmwb in a group (group, group_alias, task, metadata, and task keys its tasks take)");
            loader.group(y, ojson::object(), 0);
            continue;
        }
        if (fs::is_directory(p) && (!y.value.contains("task") || !y.value["task"].is_string())) continue;  // a base file for include
        loader.add_task(std::move(y), f.string());
    }
    if (loader.out.empty()) throw SuiteError(path + ": no lm-eval task YAML here");
    return std::move(loader.out);
}

}  // namespace lmwb::datasets
