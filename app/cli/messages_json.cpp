#include "messages_json.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "glmv/media/pdf.h"

namespace glmv::cli {

namespace fs = std::filesystem;
using json   = nlohmann::json;

Result<std::vector<pipeline::Turn>> parse_messages_json(const std::string& text, const std::string& base_dir) {
    json j;
    try {
        j = json::parse(text);
    } catch (const std::exception& e) {
        return Status(ErrorCode::bad_format, std::string("messages are not valid JSON: ") + e.what());
    }
    if (!j.is_array()) return Status(ErrorCode::bad_format, "messages must be a JSON list of {role, content}");
    auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? p : (fs::path(base_dir) / p).string(); };
    std::vector<pipeline::Turn> turns;
    for (const json& m : j) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
            return Status(ErrorCode::bad_format, "each message needs a string 'role' and a 'content'");
        pipeline::Turn t;
        t.role = m["role"];
        if (m["content"].is_string()) {
            t.text = m["content"];
        } else if (m["content"].is_array()) {
            for (const json& part : m["content"]) {
                if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
                    return Status(ErrorCode::bad_format, "each content part needs a 'type'");
                const std::string type = part["type"];
                auto              str  = [&](const char* key) -> Result<std::string> {
                    if (!part.contains(key) || !part[key].is_string())
                        return Status(ErrorCode::bad_format, std::string("a '") + type + "' part needs a string '" + key + "'");
                    return part[key].get<std::string>();
                };
                if (type == "text") {
                    auto s = str("text");
                    if (!s) return s.status();
                    t.text += *s;
                } else if (type == "image" || type == "video" || type == "pdf") {
                    auto s = str(type.c_str());
                    if (!s) return s.status();
                    pipeline::Attachment a;
                    a.kind = type == "image" ? pipeline::Attachment::Kind::image
                             : type == "video" ? pipeline::Attachment::Kind::video
                                               : pipeline::Attachment::Kind::pdf;
                    a.path = resolve(*s);
                    if (part.contains("pages") && part["pages"].is_string()) {
                        auto r = media::parse_page_range(part["pages"]);
                        if (!r) return r.status();
                        a.first_page = r->first;
                        a.last_page  = r->second;
                    }
                    t.attachments.push_back(std::move(a));
                } else {
                    return Status(ErrorCode::bad_format, "unknown content type '" + type + "' (text, image, video or pdf)");
                }
            }
        } else {
            return Status(ErrorCode::bad_format, "content must be a string or a list of parts");
        }
        turns.push_back(std::move(t));
    }
    return turns;
}

Result<std::vector<pipeline::Turn>> load_messages_json(const std::string& path) {
    std::ifstream f(path);
    if (!f) return Status(ErrorCode::not_found, "cannot open '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_messages_json(ss.str(), fs::path(path).parent_path().string());
}

} // namespace glmv::cli
